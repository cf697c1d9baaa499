package dev.fourtuple.gateway.config;

import java.net.InetSocketAddress;
import java.util.List;

/**
 * A named group of backends and how requests are spread over them.
 *
 * @param name     the key under {@code clusters}
 * @param backends resolved backend addresses, at least one, in file order
 * @param balancer how a backend is picked
 */
public record ClusterConfig(String name, List<InetSocketAddress> backends, BalancerKind balancer) {

    public ClusterConfig {
        backends = List.copyOf(backends);
    }
}
