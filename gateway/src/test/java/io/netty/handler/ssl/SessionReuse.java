package io.netty.handler.ssl;

import javax.net.ssl.SSLEngine;

/**
 * Test-only door to what Netty keeps package-private: whether a BoringSSL engine's handshake resumed a session
 * (SSL_session_reused). The JDK's client has no way to tell for TLS 1.3.
 */
public final class SessionReuse {
    private SessionReuse() {
    }

    public static boolean reused(SSLEngine engine) {
        return ((ReferenceCountedOpenSslEngine) engine).isSessionReused();
    }
}
