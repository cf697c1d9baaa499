package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.ClusterConfig;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/** A named group of backends with its balancer. */
public final class Cluster {
    private final String name;
    private final List<Backend> backends;
    private final Balancer balancer;

    Cluster(String name, List<Backend> backends, Balancer balancer) {
        this.name = name;
        this.backends = List.copyOf(backends);
        this.balancer = balancer;
    }

    /**
     * A cluster whose backends are reached from {@code sources} (empty = the kernel chooses), with their
     * tuples taken from the shared ledger.
     */
    public static Cluster of(ClusterConfig config, List<InetAddress> sources, PortLedger ledger) {
        return of(config, sources, ledger, new BackendState.Registry());
    }

    /** As {@link #of(ClusterConfig, List, PortLedger)}, with backend state that survives reloads. */
    public static Cluster of(ClusterConfig config, List<InetAddress> sources, PortLedger ledger,
            BackendState.Registry states) {
        return of(config, sources, ledger, states, null);
    }

    /**
     * As {@link #of(ClusterConfig, List, PortLedger, BackendState.Registry)}, its connections made with
     * {@code tls} (built from {@code config.tls()}; null = plaintext).
     */
    public static Cluster of(ClusterConfig config, List<InetAddress> sources, PortLedger ledger,
            BackendState.Registry states, @Nullable BackendTls tls) {
        List<Backend> backends = new ArrayList<>();
        for (InetSocketAddress address : config.backends()) {
            List<UpstreamTuple> tuples = new ArrayList<>();
            if (sources.isEmpty()) {
                tuples.add(ledger.tuple(null, address));
            }
            for (InetAddress source : sources) {
                tuples.add(ledger.tuple(source, address));
            }
            backends.add(new Backend(address, tuples, states.of(address), tls, config.sendProxyProtocol()));
        }
        return new Cluster(config.name(), backends, Balancer.of(config.balancer()));
    }

    public String name() {
        return name;
    }

    public List<Backend> backends() {
        return backends;
    }

    /** The balancer's pick among backends not yet tried, or null when all have been. */
    public @Nullable Backend pick(Set<Backend> tried) {
        return balancer.pick(backends, tried);
    }

    @Override
    public String toString() {
        return name + backends;
    }
}
