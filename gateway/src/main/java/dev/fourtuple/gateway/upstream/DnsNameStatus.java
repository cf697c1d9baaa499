package dev.fourtuple.gateway.upstream;

import java.time.Instant;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * What {@code /status} shows of one DNS name.
 *
 * @param name         as written in the config ({@code dns:app.internal:8000}, {@code srv:_app._tcp.internal})
 * @param addresses    the last good answer ({@code 10.0.0.2:8000}, {@code *WEIGHT} after an SRV address whose
 *                     weight is not 1); empty before the first
 * @param ttlSeconds   that answer's TTL, or -1 before the first
 * @param answeredAt   when it came, or null before the first
 * @param lastError    why the last failed query failed, or null when none has
 * @param lastErrorAt  when that was, or null
 * @param failing      queries failed in a row since then (0: the last one answered)
 */
public record DnsNameStatus(String name, List<String> addresses, long ttlSeconds, @Nullable Instant answeredAt,
        @Nullable String lastError, @Nullable Instant lastErrorAt, int failing) {
}
