package dev.fourtuple.gateway.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fourtuple.gateway.config.TlsProvider;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.Test;

class TlsEngineTest {
    /** The build ships BoringSSL for Linux x86_64: a build where it does not load is a defect, not a fallback. */
    @Test
    void theNativeEngineLoadsOnLinuxX8664() {
        assertThat(System.getProperty("os.name")).isEqualTo("Linux");
        assertThat(System.getProperty("os.arch")).isIn("amd64", "x86_64");

        assertThat(OpenSsl.unavailabilityCause()).isNull();
        assertThat(TlsEngine.select(TlsProvider.AUTO)).isEqualTo(SslProvider.OPENSSL_REFCNT);
        assertThat(TlsEngine.select(TlsProvider.OPENSSL)).isEqualTo(SslProvider.OPENSSL_REFCNT);
        assertThat(OpenSsl.versionString()).containsIgnoringCase("BoringSSL");
        assertThat(SslProvider.isTlsv13Supported(SslProvider.OPENSSL)).isTrue();
    }

    @Test
    void jdkIsTheJdks() {
        assertThat(TlsEngine.select(TlsProvider.JDK)).isEqualTo(SslProvider.JDK);
        assertThat(TlsEngine.describe(SslProvider.JDK)).isEqualTo("jdk");
    }
}
