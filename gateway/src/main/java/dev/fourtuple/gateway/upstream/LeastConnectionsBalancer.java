package dev.fourtuple.gateway.upstream;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * Power of two choices: of two eligible backends drawn at random, the one with fewer active requests and
 * tunnels per unit of weight. Nearly as good as scanning for the least loaded, without a scan and without
 * every loop herding onto the same backend between counter updates (Mitzenmacher, "The Power of Two Choices
 * in Randomized Load Balancing", 2001). When a draw hits an ineligible backend, a scan for the least loaded
 * eligible one decides.
 */
final class LeastConnectionsBalancer implements Balancer {
    private final List<Backend> backends;

    LeastConnectionsBalancer(List<Backend> backends) {
        this.backends = List.copyOf(backends);
    }

    @Override
    public @Nullable Backend pick(Predicate<Backend> eligible) {
        int size = backends.size();
        if (size == 1) {
            Backend only = backends.get(0);
            return eligible.test(only) ? only : null;
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        int a = random.nextInt(size);
        int b = random.nextInt(size - 1);
        if (b >= a) {
            b++;
        }
        Backend first = backends.get(a);
        Backend second = backends.get(b);
        if (eligible.test(first) && eligible.test(second)) {
            return lighter(second, first) ? second : first;
        }
        Backend best = null;
        for (Backend candidate : backends) {
            if (eligible.test(candidate) && (best == null || lighter(candidate, best))) {
                best = candidate;
            }
        }
        return best;
    }

    /** active(a) / weight(a) < active(b) / weight(b), without division. */
    private static boolean lighter(Backend a, Backend b) {
        return (long) a.active() * b.weight() < (long) b.active() * a.weight();
    }
}
