package dev.fourtuple.gateway.config;

import java.net.InetSocketAddress;
import org.jspecify.annotations.Nullable;

/**
 * One listening address: its sockets (one per event loop with SO_REUSEPORT), its backlog, and TLS or not.
 *
 * @param name    how routes name it ({@code routes[].listeners}); the listen string when not given
 * @param listen  the address
 * @param backlog listen(2) backlog
 * @param tls     TLS termination, or null for plaintext
 * @param proxyProtocol the PROXY protocol header its connections start with (behind an L4 balancer)
 */
public record ListenerConfig(String name, InetSocketAddress listen, int backlog, @Nullable TlsSettings tls,
        ProxyProtocolSettings proxyProtocol) {
    /** The name of the one listener a top-level {@code listen} makes. */
    public static final String DEFAULT_NAME = "default";

    /** A listener without the PROXY protocol. */
    public ListenerConfig(String name, InetSocketAddress listen, int backlog, @Nullable TlsSettings tls) {
        this(name, listen, backlog, tls, ProxyProtocolSettings.OFF);
    }
}
