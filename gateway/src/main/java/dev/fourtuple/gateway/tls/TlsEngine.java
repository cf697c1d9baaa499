package dev.fourtuple.gateway.tls;

import dev.fourtuple.gateway.config.TlsProvider;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Which TLS engine {@code tls.provider} comes to on this host. */
public final class TlsEngine {
    private static final Logger log = LoggerFactory.getLogger(TlsEngine.class);
    private static final AtomicBoolean FALLBACK_LOGGED = new AtomicBoolean();

    private TlsEngine() {
    }

    /**
     * The engine for the setting: OpenSSL (BoringSSL, reference-counted engines that free their native memory
     * when their connection ends) when it loads, the JDK's otherwise.
     *
     * @throws IllegalStateException when {@code openssl} is named and its native library does not load
     */
    public static SslProvider select(TlsProvider choice) {
        return switch (choice) {
            case JDK -> SslProvider.JDK;
            case OPENSSL -> {
                if (!OpenSsl.isAvailable()) {
                    throw new IllegalStateException("tls.provider: openssl (expected: a provider that loads here; "
                            + "netty-tcnative says: " + OpenSsl.unavailabilityCause() + ")");
                }
                yield SslProvider.OPENSSL_REFCNT;
            }
            case AUTO -> {
                if (OpenSsl.isAvailable()) {
                    yield SslProvider.OPENSSL_REFCNT;
                }
                if (FALLBACK_LOGGED.compareAndSet(false, true)) {
                    log.warn("tls: OpenSSL (netty-tcnative) does not load here ({}); using the JDK's TLS engine",
                            OpenSsl.unavailabilityCause().toString());
                }
                yield SslProvider.JDK;
            }
        };
    }

    /** "openssl (BoringSSL 1.1.1)" or "jdk", for the start-up line. */
    public static String describe(SslProvider provider) {
        return provider == SslProvider.JDK ? "jdk" : "openssl (" + OpenSsl.versionString() + ")";
    }
}
