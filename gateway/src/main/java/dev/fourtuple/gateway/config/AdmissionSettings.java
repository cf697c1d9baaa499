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
 * @param perClient        limits per client address
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
        Duration logInterval,
        PerClient perClient) {

    /**
     * Shed above {@code high}, accept again below {@code low}; fractions of a limit.
     *
     * @param high the high-water mark, 0..1
     * @param low  the low-water mark, 0..high
     */
    public record Watermarks(double high, double low) {
    }

    /**
     * Limits per client address; see {@code admission.per-client { }} in reference.conf.
     *
     * @param maxConnections open connections per client at most; 0 = off
     * @param connectRate    new connections per second per client at most (a burst of one second's worth);
     *                       0 = off
     * @param ipv6Prefix     IPv6 clients are counted per network of this many leading bits, 32..64
     * @param tableSize      clients remembered at most
     */
    public record PerClient(int maxConnections, int connectRate, int ipv6Prefix, int tableSize) {
        /** True when either limit is on (the table is only needed then). */
        public boolean enabled() {
            return maxConnections > 0 || connectRate > 0;
        }
    }
}
