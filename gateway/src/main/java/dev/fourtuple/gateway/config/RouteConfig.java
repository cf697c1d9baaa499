package dev.fourtuple.gateway.config;

import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * One routing rule.
 *
 * @param host           "*" or a lower-case host name without port
 * @param pathPrefix     matched against the start of the request path
 * @param cluster        name of the cluster requests go to
 * @param longPoll       whether requests on this route may wait for their answer for a long time
 * @param requestTimeout this route's own request timeout, or null to use the global one
 * @param listeners      the names of the listeners it applies to; empty = all
 */
public record RouteConfig(
        String host, String pathPrefix, String cluster, boolean longPoll, @Nullable Duration requestTimeout,
        List<String> listeners) {

    public RouteConfig {
        listeners = List.copyOf(listeners);
    }

    /** A route for every listener. */
    public RouteConfig(String host, String pathPrefix, String cluster, boolean longPoll,
            @Nullable Duration requestTimeout) {
        this(host, pathPrefix, cluster, longPoll, requestTimeout, List.of());
    }

    /** Whether it applies to requests that came in on the listener of this name. */
    public boolean appliesTo(String listener) {
        return listeners.isEmpty() || listeners.contains(listener);
    }

    /** The request timeout that applies on this route ({@link Duration#ZERO} = off). */
    public Duration effectiveRequestTimeout(Timeouts timeouts) {
        if (requestTimeout != null) {
            return requestTimeout;
        }
        return longPoll ? timeouts.longPoll() : timeouts.request();
    }
}
