package dev.fourtuple.gateway.upstream;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * Each pick takes the next backend in a fixed weighted schedule, skipping ineligible ones. The schedule is
 * nginx's smooth weighted round robin unrolled once (weights 5, 1, 1 give a a b a c a a, not a a a a a b c),
 * so a pick is an atomic increment and an array read, the same on every loop, with no lock.
 */
final class RoundRobinBalancer implements Balancer {
    /** A longer schedule (weights summing past it) is cut: the shares are then approximate. */
    private static final int MAX_SCHEDULE = 1 << 16;

    private final List<Backend> backends;
    private final int[] schedule;
    private final AtomicInteger next = new AtomicInteger();

    RoundRobinBalancer(List<Backend> backends) {
        this.backends = List.copyOf(backends);
        this.schedule = smoothWeighted(backends);
    }

    private static int[] smoothWeighted(List<Backend> backends) {
        int n = backends.size();
        int total = 0;
        for (Backend backend : backends) {
            total += backend.weight();
        }
        int length = Math.min(total, MAX_SCHEDULE);
        List<Integer> order = new ArrayList<>(length);
        long[] current = new long[n];
        for (int step = 0; step < length; step++) {
            int best = 0;
            for (int i = 0; i < n; i++) {
                current[i] += backends.get(i).weight();
                if (current[i] > current[best]) {
                    best = i;
                }
            }
            current[best] -= total;
            order.add(best);
        }
        return order.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public @Nullable Backend pick(Predicate<Backend> eligible) {
        int length = schedule.length;
        if (length == 0) {
            return null;
        }
        int start = Math.floorMod(next.getAndIncrement(), length);
        for (int i = 0; i < length; i++) {
            Backend candidate = backends.get(schedule[(start + i) % length]);
            if (eligible.test(candidate)) {
                return candidate;
            }
        }
        for (Backend candidate : backends) { // a cut schedule may miss one
            if (eligible.test(candidate)) {
                return candidate;
            }
        }
        return null;
    }
}
