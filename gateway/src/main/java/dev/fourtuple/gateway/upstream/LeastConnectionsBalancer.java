package dev.fourtuple.gateway.upstream;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;

/**
 * Power of two choices: of two backends drawn at random, the one with fewer active requests and tunnels.
 * Nearly as good as scanning for the least loaded, without a scan and without every loop herding onto the
 * same backend between counter updates (Mitzenmacher, "The Power of Two Choices in Randomized Load
 * Balancing", 2001).
 */
final class LeastConnectionsBalancer implements Balancer {

    @Override
    public @Nullable Backend pick(List<Backend> backends, Set<Backend> exclude) {
        int size = backends.size();
        if (exclude.isEmpty()) {
            if (size == 1) {
                return backends.get(0);
            }
            ThreadLocalRandom random = ThreadLocalRandom.current();
            int a = random.nextInt(size);
            int b = random.nextInt(size - 1);
            if (b >= a) {
                b++;
            }
            Backend first = backends.get(a);
            Backend second = backends.get(b);
            return second.active() < first.active() ? second : first;
        }
        Backend best = null;
        for (Backend candidate : backends) {
            if (!exclude.contains(candidate) && (best == null || candidate.active() < best.active())) {
                best = candidate;
            }
        }
        return best;
    }
}
