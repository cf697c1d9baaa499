package dev.fourtuple.gateway.config;

import java.time.Duration;

/**
 * How the gateway connects to backends.
 *
 * @param keepaliveMaxIdle      idle keep-alive connections kept per (event loop, backend); 0 = no pooling
 * @param keepaliveIdleTimeout  a pooled connection unused this long is closed
 */
public record UpstreamSettings(int keepaliveMaxIdle, Duration keepaliveIdleTimeout) {
}
