package dev.fourtuple.gateway.admission;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A token bucket for the accept rate: {@code rate} tokens a second, at most one second's worth saved up.
 * Shared by every listening socket, lock-free.
 */
final class TokenBucket {
    private final long nanosPerToken;
    private final long capacityNanos;
    /** The time at which the bucket would be empty; tokens = (now - emptyAt) / nanosPerToken. */
    private final AtomicLong emptyAt;

    private static final long UNSET = Long.MIN_VALUE;

    /** A full bucket at {@code nowNanos}. */
    TokenBucket(int ratePerSecond, long nowNanos) {
        this(ratePerSecond);
        emptyAt.set(nowNanos - capacityNanos);
    }

    /** A bucket that is full when first used, on whatever clock its callers pass (the event loops' ticker). */
    TokenBucket(int ratePerSecond) {
        this.nanosPerToken = 1_000_000_000L / ratePerSecond;
        this.capacityNanos = nanosPerToken * ratePerSecond;
        this.emptyAt = new AtomicLong(UNSET);
    }

    /** Takes a token if there is one. */
    boolean tryTake(long nowNanos) {
        while (true) {
            long current = emptyAt.get();
            if (current == UNSET) {
                emptyAt.compareAndSet(UNSET, nowNanos - capacityNanos);
                continue;
            }
            long floor = nowNanos - capacityNanos;
            long base = Math.max(current, floor);
            long next = base + nanosPerToken;
            if (next > nowNanos) {
                return false;
            }
            if (emptyAt.compareAndSet(current, next)) {
                return true;
            }
        }
    }

    /** Nanoseconds until the next token. */
    long nanosUntilToken(long nowNanos) {
        if (emptyAt.get() == UNSET) {
            return 0;
        }
        long next = Math.max(emptyAt.get(), nowNanos - capacityNanos) + nanosPerToken;
        return Math.max(0, next - nowNanos);
    }
}
