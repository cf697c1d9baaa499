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

    /**
     * @param limit   the soft RLIMIT_NOFILE
     * @param charged fds the gateway's own connections account for, now
     * @param openNow fds open at start (before any connection)
     */
    FdBudget(long limit, LongSupplier charged, long openNow) {
        this.limit = limit;
        this.charged = charged;
        this.others = Math.max(0, openNow - charged.getAsLong());
    }

    /** Re-measures the fds that are not the gateway's connections, from a fresh count of all open fds. */
    void reconcile(long openNow) {
        others = Math.max(0, openNow - charged.getAsLong());
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
