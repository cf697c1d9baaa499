package dev.fourtuple.gateway.config;

import java.time.Duration;

/**
 * Every timeout of the gateway. {@link Duration#ZERO} means "off" wherever the key allows off.
 * {@code body} is body-timeout: the time a request body has, stretched by {@link Limits#bodyMinRate()}.
 *
 * @see #isOff(Duration)
 */
public record Timeouts(
        Duration header,
        Duration idle,
        Duration request,
        Duration longPoll,
        Duration tunnelIdle,
        Duration connect,
        Duration drain,
        Duration body) {

    /** True when a timeout value means "never". */
    public static boolean isOff(Duration timeout) {
        return timeout.isZero();
    }
}
