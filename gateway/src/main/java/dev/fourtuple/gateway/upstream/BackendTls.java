package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.ClusterTls;
import dev.fourtuple.gateway.config.TlsProvider;
import dev.fourtuple.gateway.tls.TlsEngine;
import io.netty.channel.Channel;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.util.IllegalReferenceCountException;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/**
 * The TLS client side of one cluster's backend connections: its {@link SslContext} (one per distinct
 * {@link ClusterTls}, built at start and on a reload that changes it) and the {@link SslHandler} each new
 * connection gets first in its pipeline.
 *
 * <p>The context of the OpenSSL engine is reference-counted: every engine it makes holds a reference, and
 * {@link #release()} gives up the owner's, so a replaced context is freed when its last connection closes.
 */
public final class BackendTls {
    /** RFC 6125 §6 via the JDK's rules: DNS SubjectAltNames (wildcard leftmost only), IP SubjectAltNames. */
    private static final String HOSTNAME_VERIFICATION = "HTTPS";
    private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private final ClusterTls settings;
    private final SslContext context;
    private final SslProvider provider;

    private BackendTls(ClusterTls settings, SslContext context, SslProvider provider) {
        this.settings = settings;
        this.context = context;
        this.provider = provider;
    }

    /**
     * Builds the context: trust from the CA file's certificates (or the JDK's default trust store), hostname
     * verification on unless {@code verify = false}, which trusts anything.
     *
     * @throws IllegalStateException when the engine refuses the settings (the message names where they are set)
     */
    public static BackendTls of(ClusterTls settings) {
        SslProvider provider = TlsEngine.select(TlsProvider.AUTO);
        SslContextBuilder builder = SslContextBuilder.forClient()
                .sslProvider(provider)
                .protocols(PROTOCOLS)
                // RFC 7301: offer http/1.1 only; the request encoder speaks nothing else.
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        ApplicationProtocolNames.HTTP_1_1));
        if (!settings.verify()) {
            builder.trustManager(InsecureTrustManagerFactory.INSTANCE).endpointIdentificationAlgorithm(null);
        } else {
            builder.endpointIdentificationAlgorithm(HOSTNAME_VERIFICATION);
            if (!settings.trusted().isEmpty()) {
                builder.trustManager(settings.trusted());
            } // else the default TrustManagerFactory: the JDK's cacerts
        }
        try {
            return new BackendTls(settings, builder.build(), provider);
        } catch (SSLException | RuntimeException e) {
            throw new IllegalStateException(settings.location() + ": tls: the TLS engine ("
                    + TlsEngine.describe(provider) + ") refuses these settings: " + e.getMessage(), e);
        }
    }

    public ClusterTls settings() {
        return settings;
    }

    /** "openssl (BoringSSL)" or "jdk", for the start-up line. */
    public String engine() {
        return TlsEngine.describe(provider);
    }

    /** The name a connection to {@code backend} sends as SNI and verifies: server-name, or the host as written. */
    String serverName(InetSocketAddress backend) {
        return settings.serverName().isEmpty() ? backend.getHostString() : settings.serverName();
    }

    /**
     * A client handler for a new connection to {@code backend}. The handshake starts when the channel becomes
     * active and must finish within the channel's connect timeout.
     */
    SslHandler newHandler(Channel channel, InetSocketAddress backend) {
        SslHandler handler = context.newHandler(channel.alloc(), serverName(backend), backend.getPort());
        if (settings.verify()) {
            // Set on the engine as well as on the context: hostname verification must not hang on a default.
            SSLEngine engine = handler.engine();
            SSLParameters parameters = engine.getSSLParameters();
            parameters.setEndpointIdentificationAlgorithm(HOSTNAME_VERIFICATION);
            engine.setSSLParameters(parameters);
        }
        handler.setHandshakeTimeoutMillis(channel.config().getConnectTimeoutMillis());
        return handler;
    }

    /**
     * Takes a reference for a connect about to make an engine; false when the context is gone already. Pair
     * with {@link #connectDone()} once the connect ended (the engine, if made, holds its own reference).
     *
     * <p>Concurrency note: a request that picked this cluster's backend before a reload may connect (or retry)
     * after the reload released the context, on its loop while the reload runs on another thread. The
     * reference is taken atomically or not at all, so no engine is ever made from a freed context.
     */
    boolean retainForConnect() {
        try {
            ReferenceCountUtil.retain(context);
            return true;
        } catch (IllegalReferenceCountException released) {
            return false;
        }
    }

    void connectDone() {
        ReferenceCountUtil.release(context);
    }

    /** Gives up the owner's reference to the context (connections still open keep theirs). */
    public void release() {
        ReferenceCountUtil.release(context);
    }

    @Override
    public String toString() {
        return "tls(" + (settings.verify() ? "verify" : "NO VERIFY")
                + (settings.serverName().isEmpty() ? "" : ", server-name " + settings.serverName()) + ")";
    }
}
