package dev.fourtuple.gateway.route;

import dev.fourtuple.gateway.config.RouteConfig;
import dev.fourtuple.gateway.upstream.Cluster;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** Routes in order; the first whose host and path prefix match wins. Immutable and thread-safe. */
public final class Router {

    /** A matched route with its cluster. */
    public record Match(RouteConfig route, Cluster cluster) {
    }

    private final List<Match> routes;

    /** Every route's cluster must be in {@code clusters} (the config loader guarantees it). */
    public Router(List<RouteConfig> routes, Map<String, Cluster> clusters) {
        List<Match> list = new ArrayList<>();
        for (RouteConfig route : routes) {
            Cluster cluster = clusters.get(route.cluster());
            if (cluster == null) {
                throw new IllegalArgumentException("route names a missing cluster: " + route.cluster());
            }
            list.add(new Match(route, cluster));
        }
        this.routes = List.copyOf(list);
    }

    /**
     * The first matching route of any listener, or null.
     *
     * @param hostHeader the Host header as sent (may carry a port, may be null)
     * @param path       the request path, without the query
     */
    public @Nullable Match match(@Nullable String hostHeader, String path) {
        return match(hostHeader, path, null);
    }

    /**
     * The first route that applies to {@code listener} (null: any) and matches, or null.
     *
     * @param hostHeader the Host header as sent (may carry a port, may be null)
     * @param path       the request path, without the query
     */
    public @Nullable Match match(@Nullable String hostHeader, String path, @Nullable String listener) {
        String host = hostHeader == null ? "" : hostOnly(hostHeader);
        for (Match match : routes) {
            RouteConfig route = match.route();
            if ((route.host().equals("*") || route.host().equals(host)) && path.startsWith(route.pathPrefix())
                    && (listener == null || route.appliesTo(listener))) {
                return match;
            }
        }
        return null;
    }

    /** "Example.COM:8080" → "example.com"; "[::1]:80" → "[::1]". */
    static String hostOnly(String hostHeader) {
        String host = hostHeader.trim();
        int colon = host.lastIndexOf(':');
        if (colon >= 0 && host.indexOf(']') < colon) {
            host = host.substring(0, colon);
        }
        return host.toLowerCase(Locale.ROOT);
    }
}
