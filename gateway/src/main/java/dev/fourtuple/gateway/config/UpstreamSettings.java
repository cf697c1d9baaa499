package dev.fourtuple.gateway.config;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * How the gateway connects to backends.
 *
 * @param socket                socket options of every upstream connection
 * @param keepaliveMaxIdle      idle keep-alive connections kept per (event loop, backend); 0 = no pooling
 * @param keepaliveIdleTimeout  a pooled connection unused this long is closed
 * @param sourceAddresses       local IPs upstream connections leave from; empty = the kernel chooses
 * @param localPortRange        per-socket ephemeral range (IP_LOCAL_PORT_RANGE), or null for the system's
 * @param bindAddressNoPort     whether to bind sources with IP_BIND_ADDRESS_NO_PORT
 */
public record UpstreamSettings(
        SocketSettings socket,
        int keepaliveMaxIdle,
        Duration keepaliveIdleTimeout,
        List<InetAddress> sourceAddresses,
        @Nullable PortRange localPortRange,
        boolean bindAddressNoPort) {

    public UpstreamSettings {
        sourceAddresses = List.copyOf(sourceAddresses);
    }
}
