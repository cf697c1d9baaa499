package dev.fourtuple.gateway;

import dev.fourtuple.gateway.admission.AdmissionController;
import dev.fourtuple.gateway.config.BackendConfig;
import dev.fourtuple.gateway.config.GatewayConfig;
import dev.fourtuple.gateway.connection.ConnectionRegistry;
import dev.fourtuple.gateway.connection.Departure;
import dev.fourtuple.gateway.inbound.FrontendInitializer;
import dev.fourtuple.gateway.inbound.IdleConnectionState;
import dev.fourtuple.gateway.tunnel.TunnelState;
import io.netty.channel.Channel;
import io.netty.channel.unix.UnixChannel;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import dev.fourtuple.gateway.admission.AcceptGate;
import dev.fourtuple.gateway.config.ListenerConfig;
import dev.fourtuple.gateway.config.ProxyProtocolSettings;
import dev.fourtuple.gateway.config.TlsSettings;
import dev.fourtuple.gateway.inbound.FrontendSettings;
import dev.fourtuple.gateway.inbound.Frontends;
import dev.fourtuple.gateway.inbound.InboundMeters;
import dev.fourtuple.gateway.inbound.Listener;
import dev.fourtuple.gateway.inbound.ListenerIdentity;
import dev.fourtuple.gateway.tls.ServerTls;
import dev.fourtuple.gateway.tls.TlsMeters;
import dev.fourtuple.gateway.metrics.ProblemLog;
import dev.fourtuple.gateway.route.Router;
import dev.fourtuple.gateway.timeout.TimerWheel;
import dev.fourtuple.gateway.transport.EventLoops;
import dev.fourtuple.gateway.transport.PerLoop;
import dev.fourtuple.gateway.transport.SocketOptions;
import dev.fourtuple.gateway.transport.TransportKind;
import dev.fourtuple.gateway.transport.TransportSelector;
import dev.fourtuple.gateway.tunnel.TunnelMeters;
import dev.fourtuple.gateway.upstream.Backend;
import dev.fourtuple.gateway.upstream.Cluster;
import dev.fourtuple.gateway.upstream.DnsChanges;
import dev.fourtuple.gateway.upstream.DnsDiscovery;
import dev.fourtuple.gateway.upstream.DnsNameStatus;
import dev.fourtuple.gateway.upstream.Discovered;
import dev.fourtuple.gateway.upstream.HealthChecker;
import dev.fourtuple.gateway.upstream.HealthMeters;
import dev.fourtuple.gateway.upstream.UpstreamMeters;
import dev.fourtuple.gateway.upstream.UpstreamTuple;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running gateway: start → serve → reload → drain → stop. Owns the event loops, the listener and everything
 * hanging off them; every collaborator is handed in or built here, nothing is global.
 */
public final class Gateway implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Gateway.class);
    private static final Duration PROBLEM_LOG_INTERVAL = Duration.ofSeconds(10);
    private static final Duration LOOP_SHUTDOWN = Duration.ofSeconds(5);
    private static final Path PROC = Path.of("/proc");
    private static final Path CGROUP_ROOT = Path.of("/sys/fs/cgroup");
    /** RFC 6455 §7.4.1: 1001, the endpoint is going away; what a tunnel to a backend marked down gets. */
    private static final int GOING_AWAY = 1001;

    private final EventLoops loops;
    private final PerLoop<TimerWheel> wheels;
    private final Upstreams upstreams;
    private final AtomicReference<FrontendSettings> settings;
    private final Frontends frontend;
    private final List<BoundListener> listeners;
    private final AdmissionController admission;
    private final Meters meters;
    private final DnsDiscovery dns;
    private final HealthChecker health;
    private volatile GatewayConfig config;
    private volatile int configVersion = 1;
    private volatile Instant configLoadedAt = Instant.now();
    private volatile boolean draining;
    /** Listening sockets passed to a successor: no longer accepting here. */
    private volatile boolean handingOver;
    private boolean stopped;

    /** The meter holders of every capability, handed around as one. */
    private record Meters(InboundMeters inbound, UpstreamMeters upstream, TunnelMeters tunnels, TlsMeters tls,
            ProblemLog problems, HealthMeters health) {
        static Meters register(MeterRegistry registry) {
            return new Meters(new InboundMeters(registry), new UpstreamMeters(registry), new TunnelMeters(registry),
                    new TlsMeters(registry), new ProblemLog(registry, PROBLEM_LOG_INTERVAL), new HealthMeters(registry));
        }
    }

    /** A listener as bound: its config, its sockets, its TLS (null: plaintext). */
    private record BoundListener(ListenerConfig config, Listener sockets, @Nullable ServerTls tls) {
    }

    /** How often the session-ticket keys are checked for rotation (each listener rotates at its own interval). */
    private static final Duration TICKET_KEY_CHECK = Duration.ofMinutes(1);

    /** What a reload did. */
    public record Reload(int version, List<String> needRestart, Set<InetSocketAddress> removedBackends) {
    }

    private Gateway(GatewayConfig config, EventLoops loops, PerLoop<TimerWheel> wheels, Upstreams upstreams,
            AtomicReference<FrontendSettings> settings, Frontends frontend, List<BoundListener> listeners,
            AdmissionController admission, Meters meters, DnsDiscovery dns, HealthChecker health) {
        this.config = config;
        this.dns = dns;
        this.health = health;
        this.loops = loops;
        this.wheels = wheels;
        this.upstreams = upstreams;
        this.settings = settings;
        this.frontend = frontend;
        this.listeners = List.copyOf(listeners);
        this.admission = admission;
        this.meters = meters;
    }

    /**
     * Starts the gateway: loops, upstream connector, listener. Returns once the port accepts.
     *
     * @throws IllegalStateException when the configured transport does not load, or the host cannot honour
     *                               the upstream settings (the message names each problem, one per line)
     * @throws InterruptedException  when interrupted while binding
     */
    public static Gateway start(GatewayConfig config, MeterRegistry registry) throws InterruptedException {
        return start(config, registry, Map.of());
    }

    /**
     * Starts the gateway as {@link #start(GatewayConfig, MeterRegistry)}, serving on listening sockets a
     * predecessor passed on ({@code adopted}: fds by listener name) instead of binding them.
     */
    public static Gateway start(GatewayConfig config, MeterRegistry registry, Map<String, List<Integer>> adopted)
            throws InterruptedException {
        TransportKind transport = TransportSelector.selectAndLog(config.transport());
        EventLoops loops = EventLoops.start(transport, config.eventLoops(), "fourtuple-loop");
        AdmissionController admission = null;
        DnsDiscovery dns = null;
        List<BoundListener> bound = new ArrayList<>();
        try {
            PerLoop<TimerWheel> wheels = loops.perLoop(TimerWheel::start);
            Meters meters = Meters.register(registry);
            Upstreams upstreams = new Upstreams(config, loops, wheels, meters.upstream(), PROC);
            dns = DnsDiscovery.start(loops.loops().get(0), transport, registry);
            resolveFirst(config, dns, upstreams);
            meters.upstream().registerTuples(upstreams.ledger());
            admission = new AdmissionController(config.admission(), registry, meters.upstream()::active,
                    PROC, CGROUP_ROOT);
            TlsMeters tlsMeters = meters.tls();
            admission.chargePending(() -> tlsMeters.handshakesInFlight() * TlsMeters.BYTES_PER_HANDSHAKE);
            reportUnsupportedOptions(config, transport);
            AtomicReference<FrontendSettings> settings = new AtomicReference<>(frontendSettings(config,
                    transport, upstreams.clusters(), 1));
            PerLoop<ConnectionRegistry> connections = loops.perLoop(ConnectionRegistry::new);
            Frontends frontend = new Frontends(settings, wheels, connections, upstreams.connector(),
                    meters.inbound(), meters.tunnels(), meters.problems(), admission);
            for (ListenerConfig listenerConfig : config.listeners()) {
                bound.add(bind(listenerConfig, loops, frontend, admission, meters.tls(),
                        adopted.get(listenerConfig.name()), settings.get().socket()));
            }
            meters.tls().certificates(tlsOf(bound));
            for (BoundListener listener : bound) {
                log.info("listening on {} ({}{}{}, {} socket(s), {} event loop(s), {})",
                        format(listener.sockets().address()), listener.config().name(),
                        adopted.containsKey(listener.config().name()) ? ", taken over" : "",
                        listener.tls() == null ? "" : ", tls", listener.sockets().socketCount(), loops.loops().size(),
                        transport.configName());
            }
            log.info("config {}: {} route(s), clusters {}", config.source(), config.routes().size(),
                    config.clusters().keySet());
            HealthChecker health = new HealthChecker(loops, config.upstream(), meters.health(),
                    backend -> frontend.closeTunnelsTo(backend.address(), GOING_AWAY));
            health.update(upstreams.clusters().values(), config.upstream());
            Gateway gateway = new Gateway(config, loops, wheels, upstreams, settings, frontend, bound, admission,
                    meters, dns, health);
            gateway.scheduleTicketKeyRotation();
            dns.onChange(gateway::rediscover);
            return gateway;
        } catch (Exception e) { // also the IOException a failed bind() throws unchecked
            for (BoundListener listener : bound) {
                listener.sockets().close();
                if (listener.tls() != null) {
                    listener.tls().close();
                }
            }
            if (admission != null) {
                admission.close();
            }
            if (dns != null) {
                dns.close();
            }
            loops.shutdown(LOOP_SHUTDOWN);
            throw e;
        }
    }

    /**
     * Resolves the config's DNS names once, waiting up to dns.timeout, before the gateway serves (and tells
     * systemd it is ready): a name that has no answer by then leaves its cluster without backends from it
     * (502 "cluster has no backend") until it answers.
     */
    private static void resolveFirst(GatewayConfig config, DnsDiscovery dns, Upstreams upstreams) {
        Set<BackendConfig.DnsName> names = DnsDiscovery.namesOf(config);
        if (names.isEmpty()) {
            return;
        }
        dns.track(names, config.dns());
        Discovered answers = dns.snapshot();
        upstreams.rediscover(config, answers);
        DnsChanges.describe(config, Discovered.NONE, answers).forEach(log::info);
    }

    /**
     * Sets up one listener's TLS (certificates read and checked) and binds its sockets.
     *
     * @throws IllegalStateException naming the file, when a certificate or key is bad or the engine does not load
     * @throws BindFailedException   when its address cannot be bound
     */
    private static BoundListener bind(ListenerConfig config, EventLoops loops, Frontends frontend,
            AdmissionController admission, TlsMeters tlsMeters, @Nullable List<Integer> adopted,
            SocketOptions downstream) throws InterruptedException {
        ServerTls tls = null;
        TlsSettings tlsSettings = config.tls();
        if (tlsSettings != null) {
            try {
                tls = ServerTls.start(config.name(), tlsSettings, tlsMeters);
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        }
        ServerTls serverTls = tls;
        // A TLS listener always has the accept handler: it owns the pause at max-concurrent-handshakes.
        int loopsPerSocket = loops.transport().isNative() ? 1 : loops.loops().size();
        // Behind a PROXY protocol balancer the client is known only from the header: per-client limits run then.
        boolean perClientAtAccept = !config.proxyProtocol().enabled();
        Supplier<ChannelHandler> parentHandler = serverTls != null
                ? () -> admission.acceptHandler(serverTls.newGate(loopsPerSocket), perClientAtAccept)
                : admission.enabled() ? () -> admission.acceptHandler(AcceptGate.NONE, perClientAtAccept) : null;
        try {
            FrontendInitializer initializer = frontend.initializer(new ListenerIdentity(config.name(),
                    serverTls != null, config.proxyProtocol().enabled()), serverTls, config.proxyProtocol());
            Listener sockets = adopted != null
                    ? Listener.adopt(loops, adopted, config.backlog(), initializer, parentHandler, downstream)
                    : Listener.bind(loops, config.listen(), config.backlog(), initializer, parentHandler, downstream);
            return new BoundListener(config, sockets, serverTls);
        } catch (Exception e) { // also the IOException a failed bind() throws unchecked
            if (serverTls != null) {
                serverTls.close();
            }
            if (e instanceof InterruptedException interrupted) {
                throw interrupted;
            }
            throw BindFailedException.of(config.name().equals(ListenerConfig.DEFAULT_NAME) ? "listen"
                    : "listeners (" + config.name() + ") listen", config.listen(), e);
        }
    }

    private static List<ServerTls> tlsOf(List<BoundListener> listeners) {
        List<ServerTls> all = new ArrayList<>();
        for (BoundListener listener : listeners) {
            if (listener.tls() != null) {
                all.add(listener.tls());
            }
        }
        return all;
    }

    /** One task on one loop checks every TLS listener's ticket keys for rotation: not a timer per listener. */
    private void scheduleTicketKeyRotation() {
        List<ServerTls> tls = tlsOf(listeners);
        if (tls.isEmpty()) {
            return;
        }
        long period = TICKET_KEY_CHECK.toMillis();
        loops.loops().get(0).scheduleAtFixedRate(() -> {
            long now = System.nanoTime();
            for (ServerTls listener : tls) {
                try {
                    listener.rotateTicketKeysIfDue(now);
                } catch (RuntimeException e) { // a task that throws is never run again: keys would stop rotating
                    log.warn("tls on {}: session-ticket key rotation failed; next try in {}", listener.listener(),
                            TICKET_KEY_CHECK, e);
                }
            }
        }, period, period, TimeUnit.MILLISECONDS);
    }

    private static FrontendSettings frontendSettings(GatewayConfig config, TransportKind transport,
            Map<String, Cluster> clusters, int version) {
        return new FrontendSettings(new Router(config.routes(), clusters), config.timeouts(), config.limits(),
                SocketOptions.of(config.downstream(), transport, "downstream"), version);
    }

    /** Socket options the transport cannot set: said once, never dropped silently. */
    private static void reportUnsupportedOptions(GatewayConfig config, TransportKind transport) {
        List<String> unsupported = new ArrayList<>(SocketOptions.of(config.downstream(), transport, "downstream")
                .unsupported());
        unsupported.addAll(SocketOptions.of(config.upstream().socket(), transport, "upstream").unsupported());
        for (String key : unsupported) {
            log.warn("{}: not supported by the {} transport; not applied", key, transport.configName());
        }
    }

    /**
     * Applies a new, already validated config without dropping any connection: clusters, backends, routes,
     * balancers, source addresses, timeouts and admission thresholds switch over for new requests and
     * connections; requests and tunnels on a removed backend go on for {@code reload-grace}. Settings that
     * need a restart are named in the result and not applied.
     *
     * @throws IllegalStateException when the host cannot honour the new upstream settings (nothing changed)
     */
    public synchronized Reload reload(GatewayConfig next) {
        List<String> needRestart = needRestart(config, next);
        Set<InetSocketAddress> before = backendAddresses(upstreams.clusters());
        Map<ServerTls, ServerTls.Contexts> certificates = prepareTls(next);
        Set<BackendConfig.DnsName> names = DnsDiscovery.namesOf(next);
        Set<BackendConfig.DnsName> both = new LinkedHashSet<>(DnsDiscovery.namesOf(config));
        both.addAll(names);
        dns.track(both, next.dns()); // new names get their first answer before their clusters are built
        Map<String, Cluster> clusters;
        try {
            clusters = upstreams.reload(next, dns.snapshot());
        } catch (RuntimeException e) {
            certificates.values().forEach(ServerTls.Contexts::discard);
            dns.track(DnsDiscovery.namesOf(config), config.dns());
            throw e;
        }
        dns.track(names, next.dns()); // names no longer used stop
        certificates.forEach(ServerTls::apply);
        meters.tls().certificates(tlsOf(listeners));
        meters.upstream().registerTuples(upstreams.ledger());
        health.update(clusters.values(), next.upstream());
        admission.reconfigure(next.admission());
        reportUnsupportedOptions(next, loops.transport());
        int version = configVersion + 1;
        FrontendSettings applied = frontendSettings(next, loops.transport(), clusters, version);
        settings.set(applied);
        listeners.forEach(listener -> listener.sockets().apply(applied.socket())); // what new connections inherit
        Set<InetSocketAddress> removed = new LinkedHashSet<>(before);
        removed.removeAll(backendAddresses(clusters));
        Duration grace = next.ops().reloadGrace();
        if (!removed.isEmpty() && !grace.isZero()) {
            // One task after the grace (then one per loop): not a timer per connection. What a later reload
            // added back is not cut, nor anything opened under this version or later.
            loops.loops().get(0).schedule(() -> frontend.cutRemovedBackends(removed, version,
                    () -> backendAddresses(upstreams.clusters())), grace.toMillis(), TimeUnit.MILLISECONDS);
        }
        config = next;
        configVersion = version;
        configLoadedAt = Instant.now();
        log.info("reloaded {} (version {}): {} route(s), clusters {}{}{}", next.source(), configVersion,
                next.routes().size(), next.clusters().keySet(),
                removed.isEmpty() ? "" : "; removed backends " + removed + " keep their connections for "
                        + (grace.isZero() ? "ever" : grace),
                needRestart.isEmpty() ? "" : "; NOT applied until a restart: " + String.join(", ", needRestart));
        return new Reload(configVersion, needRestart, removed);
    }

    /**
     * DNS answers changed: the clusters are rebuilt over them and swapped in for new requests at once, as a
     * reload would (a new config version), the config itself unchanged. Runs on DNS discovery's own thread.
     *
     * <p>Unlike a reload, nothing is cut when the reload-grace runs out: DNS churn is routine (a pod moved, a
     * scale-down, a rolling deploy), and an address leaving DNS does not mean its established sessions must
     * die. A backend that is gone gets no new requests; the requests in flight on it finish as they would
     * (within their request timeout) and its tunnels go on until either side closes them. A reload that
     * removes a backend from the file is the operator's word that it goes; DNS is not.
     */
    private synchronized void rediscover() {
        if (stopped) {
            return;
        }
        Discovered before = upstreams.discovered();
        Discovered answers = dns.snapshot();
        List<String> changes = DnsChanges.describe(config, before, answers);
        if (changes.isEmpty()) {
            return; // nothing the running config uses changed (a name a reload dropped, say)
        }
        Map<String, Cluster> clusters = upstreams.rediscover(config, answers);
        meters.upstream().registerTuples(upstreams.ledger());
        health.update(clusters.values(), config.upstream()); // new addresses get checked, gone ones stop
        int version = configVersion + 1;
        settings.set(frontendSettings(config, loops.transport(), clusters, version));
        configVersion = version;
        changes.forEach(log::info);
    }

    /**
     * Re-reads every TLS listener's certificates, as the new config names them, into contexts not yet serving.
     * A listener the new config does not have, or has without TLS, keeps what it has (that change needs a
     * restart and is reported as such).
     *
     * @throws IllegalStateException naming the file, when one is bad: then nothing is prepared, nothing changes
     */
    private Map<ServerTls, ServerTls.Contexts> prepareTls(GatewayConfig next) {
        Map<ServerTls, ServerTls.Contexts> prepared = new LinkedHashMap<>();
        try {
            for (BoundListener listener : listeners) {
                ServerTls tls = listener.tls();
                TlsSettings settings = tlsSettings(next, listener.config().name());
                if (tls != null && settings != null) {
                    prepared.put(tls, tls.prepare(settings));
                }
            }
        } catch (RuntimeException e) {
            prepared.values().forEach(ServerTls.Contexts::discard);
            throw new IllegalStateException(e.getMessage() + "; the running certificates stay", e);
        }
        return prepared;
    }

    private static @Nullable TlsSettings tlsSettings(GatewayConfig config, String listener) {
        for (ListenerConfig candidate : config.listeners()) {
            if (candidate.name().equals(listener)) {
                return candidate.tls();
            }
        }
        return null;
    }

    /** Settings that only take effect at start. */
    private static List<String> needRestart(GatewayConfig running, GatewayConfig next) {
        List<String> keys = new ArrayList<>();
        if (!shape(running).equals(shape(next))) {
            keys.add("listen / listeners (addresses, names, TLS on or off)");
        }
        for (ListenerConfig listener : running.listeners()) {
            TlsSettings now = listener.tls();
            TlsSettings then = tlsSettings(next, listener.name());
            if (now != null && then != null && !now.ticketKeyRotation().equals(then.ticketKeyRotation())) {
                keys.add("tls.ticket-key-rotation (" + listener.name() + ")");
            }
        }
        if (!proxyProtocols(running).equals(proxyProtocols(next))) {
            keys.add("listeners[].proxy-protocol, proxy-protocol-from, proxy-protocol-timeout");
        }
        if (running.backlog() != next.backlog()) {
            keys.add("backlog");
        } else if (!backlogs(running).equals(backlogs(next))) {
            keys.add("listeners[].backlog");
        }
        if (running.transport() != next.transport()) {
            keys.add("transport");
        }
        if (running.eventLoops() != next.eventLoops()) {
            keys.add("event-loops");
        }
        keys.addAll(running.ops().admin().changedKeys(next.ops().admin()));
        if (running.admission().enabled() != next.admission().enabled()) {
            keys.add("admission.enabled");
        }
        if (!running.admission().refreshInterval().equals(next.admission().refreshInterval())) {
            keys.add("admission.refresh-interval");
        }
        if (running.admission().perClient().tableSize() != next.admission().perClient().tableSize()) {
            keys.add("admission.per-client.table-size");
        }
        if (running.admission().perClient().ipv6Prefix() != next.admission().perClient().ipv6Prefix()) {
            keys.add("admission.per-client.ipv6-prefix");
        }
        if (running.limits().maxHeaderSize() != next.limits().maxHeaderSize()
                || running.limits().maxInitialLineLength() != next.limits().maxInitialLineLength()) {
            keys.add("max-header-size / max-initial-line-length (for connections already open)");
        }
        if (!SocketOptions.listenerCanChange(running.downstream(), next.downstream())) {
            // The listening sockets keep a size once set, and accepted sockets inherit it (SocketOptions).
            keys.add("downstream.rcvbuf / downstream.sndbuf (back to auto)");
        }
        return keys;
    }

    /**
     * What of the listeners a reload cannot change, and a successor must have the same of: each one's name,
     * address and whether TLS is on, as {@code name@address[/tls]}.
     */
    public static List<String> shape(GatewayConfig config) {
        return config.listeners().stream()
                .map(l -> l.name() + "@" + format(l.listen()) + (l.tls() == null ? "" : "/tls"))
                .toList();
    }

    private static List<ProxyProtocolSettings> proxyProtocols(GatewayConfig config) {
        return config.listeners().stream().map(ListenerConfig::proxyProtocol).toList();
    }

    private static List<Integer> backlogs(GatewayConfig config) {
        return config.listeners().stream().map(ListenerConfig::backlog).toList();
    }

    /** The backends' addresses now (fixed ones and those DNS gave). */
    private static Set<InetSocketAddress> backendAddresses(Map<String, Cluster> clusters) {
        Set<InetSocketAddress> addresses = new LinkedHashSet<>();
        clusters.values().forEach(c -> c.backends().forEach(b -> addresses.add(b.address())));
        return addresses;
    }

    /** The first listener's address (the real port when the config asked for 0). */
    public InetSocketAddress address() {
        return listeners.get(0).sockets().address();
    }

    /**
     * The bound address of the listener of that name.
     *
     * @throws IllegalArgumentException when there is none
     */
    public InetSocketAddress address(String listenerName) {
        for (BoundListener listener : listeners) {
            if (listener.config().name().equals(listenerName)) {
                return listener.sockets().address();
            }
        }
        throw new IllegalArgumentException("no listener " + listenerName);
    }

    /** Each listener's name and bound address, in config order. */
    public Map<String, InetSocketAddress> listenerAddresses() {
        Map<String, InetSocketAddress> addresses = new LinkedHashMap<>();
        listeners.forEach(l -> addresses.put(l.config().name(), l.sockets().address()));
        return addresses;
    }

    /** The TLS of each TLS listener, in config order. */
    public List<ServerTls> tls() {
        return tlsOf(listeners);
    }

    public TlsMeters tlsMeters() {
        return meters.tls();
    }

    public TransportKind transport() {
        return loops.transport();
    }

    /** The event loops, for the watchdog and the event-loop meters. */
    public List<EventLoop> eventLoops() {
        return loops.loops();
    }

    public GatewayConfig config() {
        return config;
    }

    /** 1 at start, +1 per applied reload. */
    public int configVersion() {
        return configVersion;
    }

    public Instant configLoadedAt() {
        return configLoadedAt;
    }

    /** True once a drain began: the gateway is not ready for new clients. */
    public boolean draining() {
        return draining || handingOver;
    }

    /** Every upstream four-tuple slot with its use, for status and tests. */
    public List<UpstreamTuple> upstreamTuples() {
        return List.copyOf(upstreams.ledger().tuples());
    }

    /** P, the ports each four-tuple slot can have. */
    public int portsPerTuple() {
        return upstreams.ledger().capacity();
    }

    /** The backends of every cluster, by cluster name, as the current config has them. */
    public Map<String, List<Backend>> backends() {
        Map<String, List<Backend>> byCluster = new LinkedHashMap<>();
        upstreams.clusters().forEach((name, cluster) -> byCluster.put(name, cluster.backends()));
        return byCluster;
    }

    /** Per DNS name of the config: the last answer, its TTL and age, the last error. */
    public List<DnsNameStatus> dnsStatus() {
        return dns.status();
    }

    public InboundMeters inboundMeters() {
        return meters.inbound();
    }

    public UpstreamMeters upstreamMeters() {
        return meters.upstream();
    }

    public TunnelMeters tunnelMeters() {
        return meters.tunnels();
    }

    public ProblemLog problems() {
        return meters.problems();
    }

    public AdmissionController admission() {
        return admission;
    }

    // ---- handover: what a predecessor passes on, and a successor resumes ----

    /** Each listener's listening sockets (fds), by name, in config order. */
    public Map<String, List<Integer>> listenerSockets() {
        Map<String, List<Integer>> sockets = new LinkedHashMap<>();
        for (BoundListener listener : listeners) {
            sockets.put(listener.config().name(), listener.sockets().channels().stream()
                    .map(channel -> ((UnixChannel) channel).fd().intValue()).toList());
        }
        return sockets;
    }

    /**
     * Stops accepting, the sockets left open (a successor accepts on them now): each listening channel leaves
     * its loop. Not ready from now on.
     */
    public void pauseListeners() {
        handingOver = true;
        for (BoundListener listener : listeners) {
            listener.sockets().channels().forEach(channel -> channel.deregister().syncUninterruptibly());
        }
    }

    /** The successor failed: accept again on the same sockets. */
    public void resumeListeners() {
        for (BoundListener listener : listeners) {
            for (Channel channel : listener.sockets().channels()) {
                channel.eventLoop().register(channel).syncUninterruptibly();
            }
        }
        handingOver = false;
    }

    /** The successor holds the listening sockets: this process's copies close (the sockets live on there). */
    public void releaseListeners() {
        listeners.forEach(l -> l.sockets().close());
    }

    /** Every connection that can move now, to a successor: see {@link Frontends#depart}. */
    public void depart(int max, Consumer<Departure> ready, BiConsumer<Integer, Integer> swept) {
        frontend.depart(max, ready, swept);
    }

    /** Resumes a tunnel a predecessor passed on: its client and backend sockets and its state. */
    public void resumeTunnel(int clientFd, int backendFd, TunnelState state, Consumer<Boolean> done) {
        InetSocketAddress address = state.backendAddress();
        Backend backend = null;
        for (Cluster cluster : upstreams.clusters().values()) {
            for (Backend candidate : cluster.backends()) {
                if (candidate.address().equals(address)) {
                    backend = candidate;
                }
            }
        }
        frontend.resumeTunnel(loops.transport(), clientFd, backendFd, state, backend, address, done);
    }

    /** Resumes a client connection a predecessor passed on idle between requests. */
    public void resumeIdle(int fd, IdleConnectionState state, Consumer<Boolean> done) {
        frontend.resumeIdle(loops.transport(), fd, state, done);
    }

    /**
     * Graceful stop: closes the listener at once, lets requests in flight and tunnels finish for up to
     * {@code timeout}, then closes whatever is left.
     *
     * @return how many client connections were still open when the timeout ran out (0 = clean drain)
     */
    public synchronized long drainAndStop(Duration timeout) {
        return drainAndStop(Duration.ZERO, timeout);
    }

    /**
     * As {@link #drainAndStop(Duration)}, after {@code delay} of reporting not ready ({@link #draining()}, hence
     * /readyz 503) with the listeners still open: a load balancer that health-checks readiness takes this
     * gateway out of its rotation first, so no new connection it sends meets a closed port (refused) or is
     * reset in the accept queue when the listener closes. Runs on the signal thread, never on an event loop.
     */
    public synchronized long drainAndStop(Duration delay, Duration timeout) {
        if (stopped) {
            return 0;
        }
        draining = true;
        if (delay.compareTo(Duration.ZERO) > 0) {
            log.info("draining: not ready, listener open for {} more", delay);
            try {
                Thread.sleep(delay.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        listeners.forEach(l -> l.sockets().close());
        // The closes end within 80% of the drain-timeout: the rest is for the Close handshakes to finish.
        Duration latest = timeout.multipliedBy(4).dividedBy(5);
        Duration spread = config.ops().drainSpread();
        frontend.startDrain(spread.compareTo(latest) > 0 ? latest : spread, config.ops().drainCloseCode().code());
        log.info("draining: listener closed, {} client connection(s) open, up to {}", meters.inbound().active(),
                timeout);
        while (meters.inbound().active() > 0 && System.nanoTime() - deadline < 0) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        long left = meters.inbound().active();
        if (left > 0) {
            log.info("drain timeout: closing {} client connection(s) still open", left);
        }
        stopLoops();
        return left;
    }

    /** Immediate stop: closes everything now. */
    @Override
    public synchronized void close() {
        if (stopped) {
            return;
        }
        draining = true;
        listeners.forEach(l -> l.sockets().close());
        stopLoops();
    }

    private void stopLoops() {
        stopped = true;
        dns.close();
        health.stop();
        frontend.closeAll(LOOP_SHUTDOWN);
        admission.close();
        upstreams.connector().closeIdle();
        upstreams.close();
        for (TimerWheel wheel : wheels.all()) {
            wheel.loop().execute(wheel::stop);
        }
        try {
            loops.shutdown(LOOP_SHUTDOWN);
        } finally {
            tlsOf(listeners).forEach(ServerTls::close);
        }
        log.info("stopped");
    }

    static String format(InetSocketAddress address) {
        String host = address.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + address.getPort();
    }
}
