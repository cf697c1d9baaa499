package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.BalancerKind;
import java.util.List;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * Picks a backend for a new request or tunnel. One per cluster, built with its backends; thread-safe: every
 * loop calls it.
 */
interface Balancer {

    /** A backend for which {@code eligible} holds, or null when there is none. */
    @Nullable Backend pick(Predicate<Backend> eligible);

    /** The balancer of a cluster of these backends ({@link BalancerKind#HASH} balances keyless requests: round robin). */
    static Balancer of(BalancerKind kind, List<Backend> backends) {
        return switch (kind) {
            case ROUND_ROBIN, HASH -> new RoundRobinBalancer(backends);
            case LEAST_CONNECTIONS -> new LeastConnectionsBalancer(backends);
        };
    }
}
