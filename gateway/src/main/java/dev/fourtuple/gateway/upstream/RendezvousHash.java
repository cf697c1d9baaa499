package dev.fourtuple.gateway.upstream;

import java.util.List;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * Weighted rendezvous (highest random weight) hashing (Thaler and Ravishankar, "Using Name-Based Mappings to
 * Increase Hit Rates", 1998; weighted form: Schindelhauer and Schomaker, 2005): each backend scores a key by a
 * hash of the two, scaled by its weight, and the key goes to the highest eligible score. Removing a backend
 * moves exactly its own keys (every other key's highest score is unchanged), adding one takes only the keys it
 * now wins, and the key's second-highest score is its fallback when its own backend is down: each key has its
 * own order, so a dead backend's sessions spread over the others. A lookup scores every backend: O(N) hash
 * mixes, well under a microsecond for the tens of backends a cluster has. Chosen over Maglev, whose table
 * moves a few keys of backends that stayed when the set changes.
 */
final class RendezvousHash {
    private final List<Backend> backends;
    private final long[] seeds;

    RendezvousHash(List<Backend> backends) {
        this.backends = List.copyOf(backends);
        this.seeds = new long[backends.size()];
        for (int i = 0; i < seeds.length; i++) {
            // From the backend's name only: its scores stay the same across reloads, DNS changes and processes.
            seeds[i] = SessionKeys.hash(backends.get(i).name());
        }
    }

    /** The eligible backend with the key's highest score, or null when none is eligible. */
    @Nullable Backend pick(long keyHash, Predicate<Backend> eligible) {
        Backend best = null;
        double bestScore = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < seeds.length; i++) {
            Backend candidate = backends.get(i);
            double score = score(keyHash, seeds[i], candidate.weight());
            if (score > bestScore && eligible.test(candidate)) {
                best = candidate;
                bestScore = score;
            }
        }
        return best;
    }

    /** -w / ln(u) for u uniform in (0, 1) drawn from the pair's hash: P(backend wins) = w / Σw. */
    static double score(long keyHash, long seed, int weight) {
        long mixed = mix(keyHash ^ seed);
        double unit = ((mixed >>> 11) + 0.5) / (double) (1L << 53);
        return -weight / Math.log(unit);
    }

    /** SplitMix64's finaliser: spreads close inputs (session ids differing in one character) apart. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
