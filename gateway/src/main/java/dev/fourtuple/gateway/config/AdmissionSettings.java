package dev.fourtuple.gateway.config;

import java.time.Duration;

/**
 * Admission control settings; see {@code admission { }} in reference.conf.
 *
 * @param enabled          false admits everything
 * @param maxConnections   client connections at most; 0 = no explicit cap
 * @param fdReserve        free fds kept; 0 = auto (max(64, 1% of the limit))
 * @param fdHardFloor      below this many free fds, reset unread; 0 = auto (max(16, reserve / 4))
 * @param heap             heap after GC, as a fraction of max
 * @param direct           Netty direct memory, as a fraction of max
 * @param tcpMemory        kernel TCP memory, as a fraction of tcp_mem's pressure threshold
 * @param cgroupMemory     cgroup memory.current, as a fraction of memory.max
 * @param retryAfter       Retry-After base
 * @param retryAfterJitter random extra added to it
 * @param acceptRate       new connections per second at most; 0 = off
 * @param refuseExcess     true: connections over the rate get 503; false: they wait in the accept queue
 * @param refreshInterval  how often slow gauges are re-read
 * @param logInterval      at most one WARN per interval while shedding
 */
public record AdmissionSettings(
        boolean enabled,
        int maxConnections,
        int fdReserve,
        int fdHardFloor,
        Watermarks heap,
        Watermarks direct,
        Watermarks tcpMemory,
        Watermarks cgroupMemory,
        Duration retryAfter,
        Duration retryAfterJitter,
        int acceptRate,
        boolean refuseExcess,
        Duration refreshInterval,
        Duration logInterval) {

    /**
     * Shed above {@code high}, accept again below {@code low}; fractions of a limit.
     *
     * @param high the high-water mark, 0..1
     * @param low  the low-water mark, 0..high
     */
    public record Watermarks(double high, double low) {
    }
}
