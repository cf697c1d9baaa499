package dev.fourtuple.gateway.admission;

import java.util.function.LongSupplier;

/**
 * Free file descriptors, known without a syscall per accept: the soft RLIMIT_NOFILE minus what the gateway's
 * own counters charge (2 per client connection, for it and its backend connection, from the moment it is
 * admitted; plus upstream connections beyond that, idle in pools) minus the rest of the process's fds
 * (jars, epoll, logs), measured now and then by counting {@code /proc/self/fd}.
 */
final class FdBudget {
    private final long limit;
    private final LongSupplier charged;
    private volatile long others;
    private long lastSample;

    /**
     * @param limit   the soft RLIMIT_NOFILE
     * @param charged fds the gateway's own connections account for, now
     * @param openNow fds open at start (before any connection)
     */
    FdBudget(long limit, LongSupplier charged, long openNow) {
        this.limit = limit;
        this.charged = charged;
        this.others = Math.max(0, openNow - charged.getAsLong());
        this.lastSample = others;
    }

    /**
     * Re-measures the fds that are not the gateway's connections, from a fresh count of all open fds. The
     * count and the counters are not read at one instant: during a burst of opens and closes the difference
     * can be off by many fds for one sample. So the smaller of the last two samples counts: a drop is taken
     * at once (room comes back quickly), a rise only once it lasts (a one-sample spike never sheds).
     * Called from one thread only.
     */
    void reconcile(long openNow) {
        long sample = Math.max(0, openNow - charged.getAsLong());
        others = Math.min(sample, lastSample);
        lastSample = sample;
    }

    /** Fds that can still be opened. */
    long free() {
        return limit - others - charged.getAsLong();
    }

    long limit() {
        return limit;
    }

    /** Fds not belonging to connections (the baseline). */
    long others() {
        return others;
    }
}
