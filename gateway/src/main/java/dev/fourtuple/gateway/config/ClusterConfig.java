package dev.fourtuple.gateway.config;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A named group of backends, how requests are spread over them and how their health is judged.
 *
 * @param name            the key under {@code clusters}
 * @param backends        the backend entries, at least one, in file order (fixed addresses and DNS names)
 * @param balancer        how a backend is picked
 * @param hashKey         what the hash balancer hashes; null unless {@code balancer} is {@link BalancerKind#HASH}
 * @param stickyCookie    the cookie the gateway sets to name the backend of a session, or null
 * @param sourceAddresses this cluster's own upstream source IPs, or null to use {@code upstream.source-addresses}
 * @param tls             TLS towards its backends, or null for plaintext
 * @param healthCheck     the active health check, or null for none
 * @param outlier         passive outlier ejection
 * @param onDown          what happens to the tunnels of a backend its health check marks down
 * @param sendProxyProtocol the PROXY protocol header each new connection to its backends starts with
 */
public record ClusterConfig(String name, List<BackendConfig> backends, BalancerKind balancer,
        @Nullable HashKey hashKey, @Nullable String stickyCookie, @Nullable List<InetAddress> sourceAddresses,
        @Nullable ClusterTls tls, @Nullable HealthCheckSettings healthCheck, OutlierSettings outlier,
        DownPolicy onDown, SendProxyProtocol sendProxyProtocol) {

    public ClusterConfig {
        backends = List.copyOf(backends);
        sourceAddresses = sourceAddresses == null ? null : List.copyOf(sourceAddresses);
    }

    /** A cluster of fixed backends of weight 1, default health settings, no PROXY header (tests). */
    public ClusterConfig(String name, List<InetSocketAddress> addresses, BalancerKind balancer,
            @Nullable List<InetAddress> sourceAddresses, @Nullable ClusterTls tls) {
        this(name, addresses, balancer, sourceAddresses, tls, SendProxyProtocol.OFF);
    }

    /** A cluster of fixed backends of weight 1 with default health settings (tests). */
    public ClusterConfig(String name, List<InetSocketAddress> addresses, BalancerKind balancer,
            @Nullable List<InetAddress> sourceAddresses, @Nullable ClusterTls tls, SendProxyProtocol sendProxyProtocol) {
        this(name, fixed(addresses), balancer, null, null, sourceAddresses, tls, null, OutlierSettings.DEFAULT,
                DownPolicy.KEEP, sendProxyProtocol);
    }

    /** A plaintext cluster of fixed backends of weight 1 (tests). */
    public ClusterConfig(String name, List<InetSocketAddress> addresses, BalancerKind balancer,
            @Nullable List<InetAddress> sourceAddresses) {
        this(name, addresses, balancer, sourceAddresses, null);
    }

    private static List<BackendConfig> fixed(List<InetSocketAddress> addresses) {
        List<BackendConfig> backends = new ArrayList<>();
        addresses.forEach(a -> backends.add(BackendConfig.of(a)));
        return backends;
    }

    /** The source IPs this cluster's upstream connections use (empty = the kernel chooses). */
    public List<InetAddress> sources(UpstreamSettings upstream) {
        return sourceAddresses != null ? sourceAddresses : upstream.sourceAddresses();
    }

    /** The fixed backend addresses (DNS entries are not among them: their addresses come and go). */
    public List<InetSocketAddress> fixedAddresses() {
        List<InetSocketAddress> addresses = new ArrayList<>();
        for (BackendConfig backend : backends) {
            if (backend.address() != null) {
                addresses.add(backend.address());
            }
        }
        return addresses;
    }

    /** Whether some backend entry is a DNS name. */
    public boolean discovered() {
        return backends.stream().anyMatch(b -> b.dns() != null);
    }
}
