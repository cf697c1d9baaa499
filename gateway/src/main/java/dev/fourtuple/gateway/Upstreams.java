package dev.fourtuple.gateway;

import dev.fourtuple.gateway.config.ClusterConfig;
import dev.fourtuple.gateway.config.ClusterTls;
import dev.fourtuple.gateway.config.GatewayConfig;
import dev.fourtuple.gateway.config.UpstreamSettings;
import dev.fourtuple.gateway.host.EphemeralPorts;
import dev.fourtuple.gateway.timeout.TimerWheel;
import dev.fourtuple.gateway.transport.EventLoops;
import dev.fourtuple.gateway.transport.PerLoop;
import dev.fourtuple.gateway.transport.TransportKind;
import dev.fourtuple.gateway.upstream.BackendState;
import dev.fourtuple.gateway.upstream.BackendTls;
import dev.fourtuple.gateway.upstream.Cluster;
import dev.fourtuple.gateway.upstream.Discovered;
import dev.fourtuple.gateway.upstream.PortLedger;
import dev.fourtuple.gateway.upstream.UpstreamConnector;
import dev.fourtuple.gateway.upstream.UpstreamMeters;
import dev.fourtuple.gateway.upstream.UpstreamPreflight;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The upstream side of a gateway as the config shapes it: the four-tuple ledger, the clusters and their
 * backends, their TLS contexts, the connector. Built at start, rebuilt on reload (backend state, tuples and
 * unchanged TLS contexts carry over).
 */
final class Upstreams {
    private static final Logger log = LoggerFactory.getLogger(Upstreams.class);
    /** 32768-60999, Linux's default net.ipv4.ip_local_port_range. */
    private static final int LINUX_DEFAULT_EPHEMERAL_PORTS = 28_232;
    /** Test and benchmark switch (system property): see {@link #ledger}. */
    private static final String KERNEL_ONLY = "fourtuple.upstream.kernel-only";

    private final TransportKind transport;
    private final Path procRoot;
    private final PortLedger ledger;
    private final BackendState.Registry states = new BackendState.Registry();
    private final UpstreamConnector connector;
    private volatile Map<String, Cluster> clusters;
    /** The last good DNS answers for the clusters' dns: and srv: entries. */
    private volatile Discovered discovered = Discovered.NONE;
    /** One TLS context per distinct cluster tls setting; replaced on reload, confined to the reloading thread. */
    private Map<ClusterTls, BackendTls> tls;

    /**
     * @throws IllegalStateException naming every source IP or setting this host cannot honour
     */
    Upstreams(GatewayConfig config, EventLoops loops, PerLoop<TimerWheel> wheels, UpstreamMeters meters, Path procRoot) {
        this.transport = loops.transport();
        this.procRoot = procRoot;
        this.ledger = ledger(config, transport, procRoot);
        this.tls = tlsContexts(config, Map.of());
        this.clusters = clusters(config, tls, discovered, true);
        this.connector = new UpstreamConnector(loops, wheels, config.upstream(), config.timeouts().connect(), ledger,
                meters);
    }

    PortLedger ledger() {
        return ledger;
    }

    UpstreamConnector connector() {
        return connector;
    }

    Map<String, Cluster> clusters() {
        return clusters;
    }

    /** The DNS answers the clusters were built from. */
    Discovered discovered() {
        return discovered;
    }

    /**
     * Rebuilds the clusters of the running config over new DNS answers, as a reload does but without reading
     * anything: the same ledger, backend state and TLS contexts; idle pooled connections to backends that are
     * gone close. What uses a backend that is gone goes on (see {@code Gateway.rediscover}).
     */
    Map<String, Cluster> rediscover(GatewayConfig running, Discovered answers) {
        Map<String, Cluster> rebuilt = clusters(running, tls, answers, false);
        connector.reconfigure(running.upstream(), running.timeouts().connect(), rebuilt.values());
        discovered = answers;
        clusters = rebuilt;
        return rebuilt;
    }

    /**
     * Applies a new config: checks it against the host and builds changed TLS contexts first (nothing changes
     * when that fails), then re-reads P, rebuilds the clusters (DNS entries from
     * {@code answers}) and reconfigures new connections.
     *
     * @throws IllegalStateException naming every source IP or setting this host cannot honour
     */
    Map<String, Cluster> reload(GatewayConfig next, Discovered answers) {
        preflight(next, transport, procRoot);
        Map<ClusterTls, BackendTls> contexts = tlsContexts(next, tls);
        Map<String, Cluster> rebuilt;
        try {
            if (!Boolean.getBoolean(KERNEL_ONLY)) {
                ledger.capacity(ports(next.upstream(), procRoot));
            }
            rebuilt = clusters(next, contexts, answers, true);
            connector.reconfigure(next.upstream(), next.timeouts().connect(), rebuilt.values());
        } catch (RuntimeException e) {
            releaseUnused(contexts, tls); // the new contexts no cluster will use
            throw e;
        }
        clusters = rebuilt;
        discovered = answers;
        Map<ClusterTls, BackendTls> replaced = tls;
        tls = contexts;
        releaseUnused(replaced, contexts);
        return rebuilt;
    }

    /**
     * The TLS contexts the config's clusters need: the running one for settings that did not change (its
     * session cache and pooled connections stay useful), a new one for each new setting. Built before
     * anything else changes, so a context the engine refuses leaves the running config as it was.
     */
    private static Map<ClusterTls, BackendTls> tlsContexts(GatewayConfig config, Map<ClusterTls, BackendTls> running) {
        Map<ClusterTls, BackendTls> contexts = new HashMap<>();
        try {
            for (ClusterConfig cluster : config.clusters().values()) {
                ClusterTls settings = cluster.tls();
                if (settings == null || contexts.containsKey(settings)) {
                    continue;
                }
                BackendTls existing = running.get(settings);
                contexts.put(settings, existing != null ? existing : BackendTls.of(settings));
            }
        } catch (IllegalStateException e) {
            releaseUnused(contexts, running);
            throw e;
        }
        return contexts;
    }

    /** Releases the contexts of {@code old} that {@code kept} does not hold. */
    private static void releaseUnused(Map<ClusterTls, BackendTls> old, Map<ClusterTls, BackendTls> kept) {
        for (BackendTls context : old.values()) {
            if (!kept.containsValue(context)) {
                context.release();
            }
        }
    }

    /** Gives up the TLS contexts (stopping): connections still open keep theirs until they close. */
    void close() {
        releaseUnused(tls, Map.of());
        tls = Map.of();
    }

    /** The four-tuple ledger: P from this host's ephemeral range (and local-port-range), checked sources. */
    private static PortLedger ledger(GatewayConfig config, TransportKind transport, Path procRoot) {
        Set<InetAddress> sources = preflight(config, transport, procRoot);
        int ports = ports(config.upstream(), procRoot);
        if (Boolean.getBoolean(KERNEL_ONLY)) {
            // Scenario switch: the ledger believes every tuple has room, so only the kernel's EADDRNOTAVAIL
            // (and the capacity learned from it) limits upstream connections.
            log.warn("{}: the port ledger does not cap tuples; the kernel alone decides", KERNEL_ONLY);
            return new PortLedger(Integer.MAX_VALUE / 2, false);
        }
        boolean noPort = config.upstream().bindAddressNoPort() && transport.isNative();
        if (!noPort && !sources.isEmpty()) {
            log.warn("source IPs are bound without IP_BIND_ADDRESS_NO_PORT ({}): each source IP holds at most {} "
                    + "upstream connections in total, whatever the number of backends",
                    transport.isNative() ? "upstream.bind-address-no-port = off" : "the nio transport cannot set it",
                    ports);
        }
        return new PortLedger(ports, !noPort);
    }

    /** Every source IP the config uses, checked to be this host's, and local-port-range checked too. */
    private static Set<InetAddress> preflight(GatewayConfig config, TransportKind transport, Path procRoot) {
        UpstreamSettings upstream = config.upstream();
        Set<InetAddress> sources = new LinkedHashSet<>(upstream.sourceAddresses());
        config.clusters().values().forEach(c -> sources.addAll(c.sources(upstream)));
        List<String> problems = new ArrayList<>(UpstreamPreflight.checkSources(sources));
        problems.addAll(UpstreamPreflight.checkLocalPortRange(upstream.localPortRange(), transport, procRoot));
        if (!problems.isEmpty()) {
            throw new IllegalStateException(String.join("\n", problems));
        }
        return sources;
    }

    private static int ports(UpstreamSettings upstream, Path procRoot) {
        try {
            return EphemeralPorts.read(procRoot).capacity(upstream.localPortRange());
        } catch (IOException | RuntimeException e) {
            log.warn("cannot read the ephemeral port range ({}); assuming Linux's default {} ports", e,
                    LINUX_DEFAULT_EPHEMERAL_PORTS);
            return LINUX_DEFAULT_EPHEMERAL_PORTS;
        }
    }

    /** @param announce log each cluster's TLS and capacity (at start and reload; not at each DNS change) */
    private Map<String, Cluster> clusters(GatewayConfig config, Map<ClusterTls, BackendTls> contexts,
            Discovered answers, boolean announce) {
        Map<String, Cluster> built = new LinkedHashMap<>();
        for (ClusterConfig cluster : config.clusters().values()) {
            List<InetAddress> sources = cluster.sources(config.upstream());
            BackendTls tls = cluster.tls() == null ? null : contexts.get(cluster.tls());
            Cluster running = Cluster.of(cluster, sources, ledger, states, tls, answers);
            built.put(cluster.name(), running);
            if (!announce) {
                continue;
            }
            if (tls != null) {
                log.info("cluster {}: TLS to its backends, {}, engine {}, trust {}", cluster.name(), tls,
                        tls.engine(), tls.settings().ca() == null ? "the JDK's default CAs" : tls.settings().ca());
                if (!tls.settings().verify()) {
                    log.warn("cluster {}: tls.verify = false ({}): backend certificates are NOT checked; the "
                            + "connections are encrypted but anyone on the path can pose as the backend",
                            cluster.name(), tls.settings().location());
                }
            }
            int sourceCount = Math.max(1, sources.size());
            int backendCount = running.backends().size();
            long capacity = ledger.perSourceCap()
                    ? (long) sourceCount * ledger.capacity()
                    : (long) sourceCount * backendCount * ledger.capacity();
            log.info("cluster {}: upstream capacity {} source IP(s){} x {} backend(s) x {} ports = {} connections",
                    cluster.name(), sources.isEmpty() ? "1 (kernel-chosen)" : sourceCount,
                    ledger.perSourceCap() ? " (ports shared across backends)" : "", backendCount,
                    ledger.capacity(), capacity);
        }
        return built;
    }
}
