package dev.fourtuple.gateway.config;

import java.net.InetSocketAddress;
import org.jspecify.annotations.Nullable;

/**
 * One entry of a cluster's {@code backends}: a fixed address, or a DNS name whose answers are the backends.
 *
 * @param name    unique in its cluster: the {@code name} written, else the entry as written ("10.0.1.10:8000",
 *                "dns:app.internal:8000"); status, metrics and sticky cookies use it
 * @param weight  1..256: a backend of weight 2 gets twice the share of one of weight 1
 * @param address the fixed address (resolved once, when the config is read), or null for a DNS entry
 * @param dns     the name to resolve and re-resolve, or null for a fixed address
 */
public record BackendConfig(String name, int weight, @Nullable InetSocketAddress address, @Nullable DnsName dns) {

    /** A fixed backend of weight 1 named by its address. */
    public static BackendConfig of(InetSocketAddress address) {
        return new BackendConfig(address.getAddress().getHostAddress() + ":" + address.getPort(), 1, address, null);
    }

    /**
     * A name the gateway resolves, again and again, into backends.
     *
     * @param srv  true: an SRV name ({@code srv:_app._tcp.internal}) whose targets and ports are the backends
     *             (RFC 2782); false: A and AAAA records of {@code host}, each at {@code port}
     * @param host the name to look up, lower case, without a trailing dot
     * @param port the backends' port for A/AAAA; 0 for SRV (each record names its own)
     */
    public record DnsName(boolean srv, String host, int port) {
        @Override
        public String toString() {
            return srv ? "srv:" + host : "dns:" + host + ":" + port;
        }
    }
}
