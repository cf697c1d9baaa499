package dev.fourtuple.gateway.config;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A named group of backends and how requests are spread over them.
 *
 * @param name            the key under {@code clusters}
 * @param backends        resolved backend addresses, at least one, in file order
 * @param balancer        how a backend is picked
 * @param sourceAddresses this cluster's own upstream source IPs, or null to use {@code upstream.source-addresses}
 * @param tls             TLS towards its backends, or null for plaintext
 * @param sendProxyProtocol the PROXY protocol header each new connection to its backends starts with
 */
public record ClusterConfig(String name, List<InetSocketAddress> backends, BalancerKind balancer,
        @Nullable List<InetAddress> sourceAddresses, @Nullable ClusterTls tls, SendProxyProtocol sendProxyProtocol) {

    public ClusterConfig {
        backends = List.copyOf(backends);
        sourceAddresses = sourceAddresses == null ? null : List.copyOf(sourceAddresses);
    }

    /** A cluster that sends no PROXY protocol header. */
    public ClusterConfig(String name, List<InetSocketAddress> backends, BalancerKind balancer,
            @Nullable List<InetAddress> sourceAddresses, @Nullable ClusterTls tls) {
        this(name, backends, balancer, sourceAddresses, tls, SendProxyProtocol.OFF);
    }

    /** A plaintext cluster. */
    public ClusterConfig(String name, List<InetSocketAddress> backends, BalancerKind balancer,
            @Nullable List<InetAddress> sourceAddresses) {
        this(name, backends, balancer, sourceAddresses, null);
    }

    /** The source IPs this cluster's upstream connections use (empty = the kernel chooses). */
    public List<InetAddress> sources(UpstreamSettings upstream) {
        return sourceAddresses != null ? sourceAddresses : upstream.sourceAddresses();
    }
}
