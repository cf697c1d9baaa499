package dev.fourtuple.gateway.config;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

/**
 * How backends named by DNS ({@code dns:} and {@code srv:} entries) are resolved.
 *
 * @param resolvers  the DNS servers to ask; empty = those of /etc/resolv.conf
 * @param maxRefresh an answer is asked again after min(its TTL, this), jittered
 * @param minRefresh and not sooner than this, whatever its TTL (a TTL of 0 must not turn into a query storm)
 * @param timeout    a query not answered within it failed (the last good answer stays)
 */
public record DnsSettings(List<InetSocketAddress> resolvers, Duration maxRefresh, Duration minRefresh,
        Duration timeout) {

    public static final DnsSettings DEFAULT = new DnsSettings(List.of(), Duration.ofSeconds(30),
            Duration.ofSeconds(1), Duration.ofSeconds(2));

    public DnsSettings {
        resolvers = List.copyOf(resolvers);
    }
}
