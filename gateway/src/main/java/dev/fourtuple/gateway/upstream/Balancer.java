package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.BalancerKind;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/** Picks a backend for a new request or tunnel. Implementations are thread-safe: every loop calls them. */
interface Balancer {

    /** A backend not in {@code exclude}, or null when every backend is excluded. */
    @Nullable Backend pick(List<Backend> backends, Set<Backend> exclude);

    static Balancer of(BalancerKind kind) {
        return switch (kind) {
            case ROUND_ROBIN -> new RoundRobinBalancer();
            case LEAST_CONNECTIONS -> new LeastConnectionsBalancer();
        };
    }
}
