package dev.fourtuple.gateway.config;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * One routing rule.
 *
 * @param host           "*" or a lower-case host name without port
 * @param pathPrefix     matched against the start of the request path
 * @param cluster        name of the cluster requests go to
 * @param longPoll       whether requests on this route may wait for their answer for a long time
 * @param requestTimeout this route's own request timeout, or null to use the global one
 */
public record RouteConfig(
        String host, String pathPrefix, String cluster, boolean longPoll, @Nullable Duration requestTimeout) {

    /** The request timeout that applies on this route ({@link Duration#ZERO} = off). */
    public Duration effectiveRequestTimeout(Timeouts timeouts) {
        if (requestTimeout != null) {
            return requestTimeout;
        }
        return longPoll ? timeouts.longPoll() : timeouts.request();
    }
}
