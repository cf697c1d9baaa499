package dev.fourtuple.gateway.config;

import java.time.Duration;

/**
 * A cluster's active health check: every {@code interval} (jittered) each backend is probed from the cluster's
 * own source addresses, on the gateway's own event loops.
 *
 * @param http         true: an HTTP/1.1 GET of {@code path}, healthy when the status is in [expectLow,
 *                     expectHigh]; false: a TCP connect, healthy when it completes
 * @param path         request target of the HTTP check (origin-form, RFC 9112 §3.2.1)
 * @param host         Host header of the HTTP check ("" = the backend's address)
 * @param expectLow    lowest healthy status
 * @param expectHigh   highest healthy status
 * @param interval     time between two checks of one backend
 * @param timeout      a check not answered within it failed
 * @param fall         failed checks in a row that mark an up backend down
 * @param rise         passed checks in a row that mark a down backend up
 * @param jitter       each interval is stretched or shrunk by up to this fraction, so checks spread out
 */
public record HealthCheckSettings(boolean http, String path, String host, int expectLow, int expectHigh,
        Duration interval, Duration timeout, int fall, int rise, double jitter) {
}
