package dev.fourtuple.gateway.config;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;

/**
 * The whole gateway configuration, validated. Immutable; a reload builds a new one.
 *
 * @param source       where the configuration came from (a file path or "demo"), for log lines
 * @param listeners    the listening addresses, at least one (the top-level {@code listen} is one plaintext
 *                     listener)
 * @param backlog      listen(2) backlog of listeners that do not set their own
 * @param transport    requested I/O transport
 * @param eventLoops   number of event loops, 0 = one per core
 * @param timeouts     every timeout
 * @param limits       request size limits
 * @param downstream   socket options of client connections
 * @param upstream     upstream connection settings
 * @param admission    admission control
 * @param ops          admin server, reload grace, logging
 * @param clusters     backend groups by name, in file order
 * @param routes       routes in match order
 * @param dns          how DNS-named backends are resolved
 */
public record GatewayConfig(
        String source,
        List<ListenerConfig> listeners,
        int backlog,
        TransportChoice transport,
        int eventLoops,
        Timeouts timeouts,
        Limits limits,
        SocketSettings downstream,
        UpstreamSettings upstream,
        AdmissionSettings admission,
        OpsSettings ops,
        Map<String, ClusterConfig> clusters,
        List<RouteConfig> routes,
        DnsSettings dns) {

    public GatewayConfig {
        listeners = List.copyOf(listeners);
        clusters = Map.copyOf(clusters);
        routes = List.copyOf(routes);
    }

    /** The first listener's address (the only one for a config with a top-level {@code listen}). */
    public InetSocketAddress listen() {
        return listeners.get(0).listen();
    }
}
