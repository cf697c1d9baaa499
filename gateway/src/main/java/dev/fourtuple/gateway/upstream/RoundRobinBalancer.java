package dev.fourtuple.gateway.upstream;

import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/** Each pick takes the next backend in turn, skipping excluded ones. */
final class RoundRobinBalancer implements Balancer {
    private final AtomicInteger next = new AtomicInteger();

    @Override
    public @Nullable Backend pick(List<Backend> backends, Set<Backend> exclude) {
        int size = backends.size();
        int start = Math.floorMod(next.getAndIncrement(), size);
        for (int i = 0; i < size; i++) {
            Backend candidate = backends.get((start + i) % size);
            if (!exclude.contains(candidate)) {
                return candidate;
            }
        }
        return null;
    }
}
