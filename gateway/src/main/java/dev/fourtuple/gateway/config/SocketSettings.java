package dev.fourtuple.gateway.config;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * Socket options of one side's connections ({@code downstream { }} or {@code upstream { }}).
 *
 * @param rcvbuf          SO_RCVBUF bytes, 0 = kernel autotuning
 * @param sndbuf          SO_SNDBUF bytes, 0 = kernel autotuning
 * @param nodelay         TCP_NODELAY
 * @param keepalive       TCP keepalive probes, or null for none
 * @param userTimeout     TCP_USER_TIMEOUT, ZERO = off
 * @param notsentLowat    TCP_NOTSENT_LOWAT bytes, 0 = off
 * @param writeHighWater  Netty write buffer high-water mark
 * @param writeLowWater   Netty write buffer low-water mark
 * @param receiveMin      smallest read buffer
 * @param receiveInitial  first read buffer
 * @param receiveMax      largest read buffer
 */
public record SocketSettings(int rcvbuf, int sndbuf, boolean nodelay, @Nullable TcpKeepalive keepalive,
        Duration userTimeout, int notsentLowat, int writeHighWater, int writeLowWater, int receiveMin,
        int receiveInitial, int receiveMax) {

    /**
     * @param idle     time without traffic before the first probe
     * @param interval between probes
     * @param count    unanswered probes before the connection is dropped
     */
    public record TcpKeepalive(Duration idle, Duration interval, int count) {
    }
}
