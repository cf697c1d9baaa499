package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.DnsSettings;
import java.time.Duration;

/**
 * When a DNS name is asked again. After an answer: min(its TTL, {@code dns.max-refresh}), but not sooner than
 * {@code dns.min-refresh} (a TTL of 0 must not become a query storm). After a failure with a last good answer
 * in hand: that answer's interval again (the answer stays; the next refresh is the retry). A name that never
 * answered backs off from min-refresh, doubling up to max-refresh, so a name missing from DNS costs a query
 * per max-refresh, not one per min-refresh. Every delay is jittered by ±10% so that names resolved together
 * (all of them at start) do not stay in lockstep.
 */
final class DnsRefresh {
    /** ±10%. */
    static final double JITTER = 0.1;

    private DnsRefresh() {
    }

    /**
     * The delay before the next query, before jitter.
     *
     * @param ttlSeconds the TTL of the last good answer, or a negative number when there is none
     * @param failures   queries failed in a row since the last good answer (0 after an answer)
     */
    static Duration planned(DnsSettings settings, long ttlSeconds, int failures) {
        Duration max = settings.maxRefresh();
        Duration min = settings.minRefresh();
        Duration planned;
        if (ttlSeconds >= 0) {
            planned = ttlSeconds >= max.toSeconds() ? max : Duration.ofSeconds(ttlSeconds);
        } else {
            int doublings = Math.min(Math.max(0, failures - 1), 30);
            Duration backoff = min.multipliedBy(1L << doublings);
            planned = backoff.compareTo(max) > 0 ? max : backoff;
        }
        return planned.compareTo(min) < 0 ? min : planned;
    }

    /**
     * {@code planned} jittered by ±10%.
     *
     * @param random uniform in [0, 1)
     */
    static long jitteredNanos(Duration planned, double random) {
        long nanos = planned.toNanos();
        return nanos + (long) (nanos * JITTER * (2 * random - 1));
    }
}
