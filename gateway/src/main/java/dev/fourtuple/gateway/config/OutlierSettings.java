package dev.fourtuple.gateway.config;

import java.time.Duration;

/**
 * Passive outlier ejection (Envoy's outlier detection, HAProxy's {@code observe layer7}): a backend whose
 * requests fail so many times in a row is taken out of the balancer for a while.
 *
 * @param consecutiveFailures failures in a row (connect failed or timed out, 5xx, response timeout) that eject
 *                            a backend; 0 = off
 * @param baseEjection        the first ejection's length; the n-th lasts n times as long
 * @param maxEjectionTime     the cap of one ejection
 * @param maxEjectedFraction  at most this fraction of a cluster's backends is ejected at once (at least one
 *                            backend always stays in)
 */
public record OutlierSettings(int consecutiveFailures, Duration baseEjection, Duration maxEjectionTime,
        double maxEjectedFraction) {

    public static final OutlierSettings DEFAULT = new OutlierSettings(5, Duration.ofSeconds(30),
            Duration.ofSeconds(300), 0.5);

    public boolean enabled() {
        return consecutiveFailures > 0;
    }
}
