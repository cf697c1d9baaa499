package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.ClusterConfig;
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

    public static Cluster of(ClusterConfig config) {
        List<Backend> backends = new ArrayList<>();
        config.backends().forEach(address -> backends.add(new Backend(address)));
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
