package dev.fourtuple.gateway.upstream;

import java.util.List;

/**
 * Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load Balancer",
 * NSDI 2016, §3.4): a lookup table of M slots (M prime, about 100 per backend) that each backend fills along
 * its own permutation, in turns, so every backend owns nearly M/N slots, and a change of the backend set moves
 * only about the keys of the backends that came or went. Weighted: in each turn a backend of weight w takes w
 * slots. Built once per cluster (config load, reload, DNS change), read by every loop without a lock.
 */
final class MaglevTable {
    private static final int[] PRIMES = {251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521};

    private final int[] slots;

    MaglevTable(List<Backend> backends) {
        int size = PRIMES[PRIMES.length - 1];
        int weights = backends.stream().mapToInt(Backend::weight).sum();
        for (int prime : PRIMES) {
            if (prime >= 100L * weights) {
                size = prime;
                break;
            }
        }
        slots = new int[size];
        java.util.Arrays.fill(slots, -1);
        int n = backends.size();
        long[] offset = new long[n];
        long[] skip = new long[n];
        long[] next = new long[n];
        for (int i = 0; i < n; i++) {
            // The permutation depends on the backend's name only: the same backend keeps its slots' order
            // across rebuilds whatever the others are.
            long h = mix(backends.get(i).name().hashCode() * 0x9E3779B97F4A7C15L);
            offset[i] = Long.remainderUnsigned(h, size);
            skip[i] = Long.remainderUnsigned(mix(h ^ 0xC2B2AE3D27D4EB4FL), size - 1) + 1;
        }
        int filled = 0;
        while (filled < size) {
            for (int i = 0; i < n && filled < size; i++) {
                for (int w = backends.get(i).weight(); w > 0 && filled < size; w--) {
                    int slot;
                    do {
                        slot = (int) ((offset[i] + next[i] * skip[i]) % size);
                        next[i]++;
                    } while (slots[slot] >= 0);
                    slots[slot] = i;
                    filled++;
                }
            }
        }
    }

    /** The backend index owning the key's {@code attempt}-th slot (0 = its own; then its fallbacks in order). */
    int lookup(long keyHash, int attempt) {
        // Fallbacks walk the table from the key's slot with a key-dependent stride: each key has its own
        // order of backends, so the sessions of a backend that is down spread over the others.
        long stride = Long.remainderUnsigned(mix(keyHash ^ 0x94D049BB133111EBL), slots.length - 1) + 1;
        return slots[(int) Long.remainderUnsigned(keyHash + attempt * stride, slots.length)];
    }

    int size() {
        return slots.length;
    }

    /** SplitMix64's finaliser: spreads close inputs (session ids differing in one character) apart. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
