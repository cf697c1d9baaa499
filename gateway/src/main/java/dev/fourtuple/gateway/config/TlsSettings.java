package dev.fourtuple.gateway.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * TLS on one listener; see {@code tls-defaults} in reference.conf.
 *
 * @param provider                 the engine
 * @param certificates             PEM chain and key files, in order: the first serves clients without SNI
 * @param protocols                enabled protocol versions, e.g. TLSv1.3, TLSv1.2
 * @param ciphers                  enabled TLS 1.2 cipher suites (IANA names); TLS 1.3 suites are the engine's
 * @param handshakeTimeout         a handshake not done by then is closed
 * @param maxConcurrentHandshakes  handshakes in flight per event loop at most; beyond, new connections wait
 * @param ticketKeyRotation        how often a new session-ticket key is made (the previous one still decrypts)
 * @param sessionCacheSize         server-side sessions kept for resumption by session id
 * @param sessionTimeout           how long a session (and a ticket) may be resumed
 */
public record TlsSettings(
        TlsProvider provider,
        List<CertificateFiles> certificates,
        List<String> protocols,
        List<String> ciphers,
        Duration handshakeTimeout,
        int maxConcurrentHandshakes,
        Duration ticketKeyRotation,
        int sessionCacheSize,
        Duration sessionTimeout) {

    public TlsSettings {
        certificates = List.copyOf(certificates);
        protocols = List.copyOf(protocols);
        ciphers = List.copyOf(ciphers);
    }

    /**
     * One certificate: a PEM chain (leaf first) and its PKCS#8 PEM key.
     *
     * @param location where the config names it (FILE:LINE), for messages about the files
     */
    public record CertificateFiles(Path cert, Path key, String location) {
    }
}
