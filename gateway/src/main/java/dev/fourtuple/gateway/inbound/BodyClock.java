package dev.fourtuple.gateway.inbound;

/**
 * body-timeout stretched by body-min-rate: how long a request body has. It starts when the backend
 * connection is ready for the body, and the body must be complete within body-timeout plus one second for
 * every body-min-rate bytes it has brought, so that a fast upload is never cut and a trickle (a byte every
 * few seconds, to hold a backend connection at almost no cost) is. A few longs per exchange, on the
 * connection's one wheel entry; no timer of its own.
 */
final class BodyClock {
    /** The most time a body's bytes can earn it: a year, far past any real upload. */
    private static final double MAX_CREDIT_NANOS = 365 * 86_400e9;

    private final long timeoutNanos;
    private final long minRate;
    private long start;
    private long bytesBefore;

    /**
     * @param timeoutNanos body-timeout; 0 switches the clock off
     * @param minRate      body-min-rate in bytes per second; 0 = off (body-timeout is then a hard cap)
     */
    BodyClock(long timeoutNanos, long minRate) {
        this.timeoutNanos = timeoutNanos;
        this.minRate = minRate;
    }

    boolean enabled() {
        return timeoutNanos > 0;
    }

    boolean running() {
        return start != 0;
    }

    /** (Re)starts at {@code nowNanos}, counting only bytes after the {@code bodyBytes} already received. */
    void start(long nowNanos, long bodyBytes) {
        start = nowNanos;
        bytesBefore = bodyBytes;
    }

    void stop() {
        start = 0;
    }

    /** When the body must be complete, given the bytes it has brought so far. */
    long deadline(long bodyBytes) {
        long extra = 0;
        if (minRate > 0) {
            // in doubles: a terabyte at one byte a second would overflow nanoseconds in a long
            extra = (long) Math.min(MAX_CREDIT_NANOS, (bodyBytes - bytesBefore) * 1e9 / minRate);
        }
        return start + timeoutNanos + extra;
    }

    /** How long it has run, for the log line. */
    long elapsedMillis(long nowNanos) {
        return (nowNanos - start) / 1_000_000;
    }
}
