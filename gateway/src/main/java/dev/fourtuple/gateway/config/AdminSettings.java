package dev.fourtuple.gateway.config;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The admin HTTP server; see {@code admin { }} in reference.conf. Read at start only.
 *
 * @param listen         its address, or null when off
 * @param headerTimeout  time to deliver a whole request head, from the connect and from the first byte of each
 *                       later request on the connection (408 and closed)
 * @param idleTimeout    a kept-alive connection without a request for this long is closed; ZERO = never
 * @param maxConnections admin connections open at most; the next one gets 503 and is closed
 */
public record AdminSettings(@Nullable InetSocketAddress listen, Duration headerTimeout, Duration idleTimeout,
        int maxConnections) {

    /** The keys (admin.*) whose values differ in {@code next}: each needs a restart. */
    public List<String> changedKeys(AdminSettings next) {
        List<String> keys = new ArrayList<>();
        if (!Objects.equals(listen, next.listen)) {
            keys.add("admin.listen");
        }
        if (!headerTimeout.equals(next.headerTimeout)) {
            keys.add("admin.header-timeout");
        }
        if (!idleTimeout.equals(next.idleTimeout)) {
            keys.add("admin.idle-timeout");
        }
        if (maxConnections != next.maxConnections) {
            keys.add("admin.max-connections");
        }
        return keys;
    }
}
