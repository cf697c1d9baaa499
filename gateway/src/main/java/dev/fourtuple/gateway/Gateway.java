package dev.fourtuple.gateway;

import dev.fourtuple.gateway.admission.AdmissionController;
import dev.fourtuple.gateway.config.ClusterConfig;
import dev.fourtuple.gateway.config.GatewayConfig;
import dev.fourtuple.gateway.config.UpstreamSettings;
import dev.fourtuple.gateway.inbound.FrontendInitializer;
import dev.fourtuple.gateway.inbound.FrontendSettings;
import dev.fourtuple.gateway.inbound.InboundMeters;
import dev.fourtuple.gateway.inbound.Listener;
import dev.fourtuple.gateway.metrics.ProblemLog;
import dev.fourtuple.gateway.route.Router;
import dev.fourtuple.gateway.timeout.TimerWheel;
import dev.fourtuple.gateway.transport.EventLoops;
import dev.fourtuple.gateway.transport.PerLoop;
import dev.fourtuple.gateway.transport.TransportKind;
import dev.fourtuple.gateway.transport.TransportSelector;
import dev.fourtuple.gateway.tunnel.TunnelMeters;
import dev.fourtuple.gateway.upstream.Cluster;
import dev.fourtuple.gateway.host.EphemeralPorts;
import dev.fourtuple.gateway.upstream.PortLedger;
import dev.fourtuple.gateway.upstream.UpstreamPreflight;
import dev.fourtuple.gateway.upstream.UpstreamTuple;
import dev.fourtuple.gateway.upstream.UpstreamConnector;
import dev.fourtuple.gateway.upstream.UpstreamMeters;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running gateway: start → serve → drain → stop. Owns the event loops, the listener and everything
 * hanging off them; every collaborator is handed in or built here, nothing is global.
 */
public final class Gateway implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Gateway.class);
    private static final Duration PROBLEM_LOG_INTERVAL = Duration.ofSeconds(10);
    private static final Duration LOOP_SHUTDOWN = Duration.ofSeconds(5);
    private static final Path PROC = Path.of("/proc");
    private static final Path CGROUP_ROOT = Path.of("/sys/fs/cgroup");
    /** Test and benchmark switch (system property): see {@link #portLedger}. */
    private static final String KERNEL_ONLY = "fourtuple.upstream.kernel-only";
    /** 32768-60999, Linux's default net.ipv4.ip_local_port_range. */
    private static final int LINUX_DEFAULT_EPHEMERAL_PORTS = 28_232;

    private final GatewayConfig config;
    private final EventLoops loops;
    private final PerLoop<TimerWheel> wheels;
    private final FrontendInitializer frontend;
    private final Listener listener;
    private final PortLedger ledger;
    private final AdmissionController admission;
    private final Meters meters;
    private boolean stopped;

    /** The meter holders of every capability, handed around as one. */
    private record Meters(InboundMeters inbound, UpstreamMeters upstream, TunnelMeters tunnels, ProblemLog problems) {
        static Meters register(MeterRegistry registry) {
            return new Meters(new InboundMeters(registry), new UpstreamMeters(registry), new TunnelMeters(registry),
                    new ProblemLog(registry, PROBLEM_LOG_INTERVAL));
        }
    }

    private Gateway(GatewayConfig config, EventLoops loops, PerLoop<TimerWheel> wheels, FrontendInitializer frontend,
            Listener listener, PortLedger ledger, AdmissionController admission, Meters meters) {
        this.config = config;
        this.loops = loops;
        this.wheels = wheels;
        this.frontend = frontend;
        this.listener = listener;
        this.ledger = ledger;
        this.admission = admission;
        this.meters = meters;
    }

    /**
     * Starts the gateway: loops, upstream connector, listener. Returns once the port accepts.
     *
     * @throws IllegalStateException when the configured transport does not load
     * @throws InterruptedException  when interrupted while binding
     */
    public static Gateway start(GatewayConfig config, MeterRegistry registry) throws InterruptedException {
        TransportKind transport = TransportSelector.selectAndLog(config.transport());
        EventLoops loops = EventLoops.start(transport, config.eventLoops(), "fourtuple-loop");
        AdmissionController admission = null;
        try {
            PerLoop<TimerWheel> wheels = loops.perLoop(TimerWheel::start);
            Meters meters = Meters.register(registry);
            PortLedger ledger = portLedger(config, transport);
            Map<String, Cluster> clusters = clusters(config, ledger);
            meters.upstream().registerTuples(ledger);
            UpstreamConnector connector = new UpstreamConnector(loops, wheels, config.upstream(),
                    config.timeouts().connect(), ledger, meters.upstream());
            admission = new AdmissionController(config.admission(), registry, meters.upstream()::active,
                    PROC, CGROUP_ROOT);
            AtomicReference<FrontendSettings> settings = new AtomicReference<>(
                    new FrontendSettings(new Router(config.routes(), clusters), config.timeouts(), config.limits()));
            FrontendInitializer frontend = new FrontendInitializer(settings, wheels, connector, meters.inbound(),
                    meters.tunnels(), meters.problems(), admission);
            Listener listener = Listener.bind(loops, config.listen(), config.backlog(), frontend,
                    admission.enabled() ? admission::acceptHandler : null);
            log.info("listening on {} ({} socket(s), {} event loop(s), {}); config {}: {} route(s), clusters {}",
                    format(listener.address()), listener.socketCount(), loops.loops().size(),
                    transport.configName(), config.source(), config.routes().size(), config.clusters().keySet());
            return new Gateway(config, loops, wheels, frontend, listener, ledger, admission, meters);
        } catch (Exception e) { // also the IOException a failed bind() throws unchecked
            if (admission != null) {
                admission.close();
            }
            loops.shutdown(LOOP_SHUTDOWN);
            throw e;
        }
    }

    /**
     * The four-tuple ledger: P from this host's ephemeral range (and local-port-range), checked sources.
     *
     * @throws IllegalStateException naming every source IP or setting this host cannot honour
     */
    private static PortLedger portLedger(GatewayConfig config, TransportKind transport) {
        UpstreamSettings upstream = config.upstream();
        Set<InetAddress> sources = new LinkedHashSet<>(upstream.sourceAddresses());
        config.clusters().values().forEach(c -> sources.addAll(c.sources(upstream)));
        List<String> problems = new ArrayList<>(UpstreamPreflight.checkSources(sources));
        problems.addAll(UpstreamPreflight.checkLocalPortRange(upstream.localPortRange(), transport, PROC));
        if (!problems.isEmpty()) {
            throw new IllegalStateException(String.join("\n", problems));
        }
        int ports;
        try {
            ports = EphemeralPorts.read(PROC).capacity(upstream.localPortRange());
        } catch (IOException | RuntimeException e) {
            ports = LINUX_DEFAULT_EPHEMERAL_PORTS;
            log.warn("cannot read the ephemeral port range ({}); assuming Linux's default {} ports", e, ports);
        }
        if (Boolean.getBoolean(KERNEL_ONLY)) {
            // Scenario switch: the ledger believes every tuple has room, so only the kernel's EADDRNOTAVAIL
            // (and the capacity learned from it) limits upstream connections.
            log.warn("{}: the port ledger does not cap tuples; the kernel alone decides", KERNEL_ONLY);
            return new PortLedger(Integer.MAX_VALUE / 2, false);
        }
        boolean noPort = upstream.bindAddressNoPort() && transport.isNative();
        if (!noPort && !sources.isEmpty()) {
            log.warn("source IPs are bound without IP_BIND_ADDRESS_NO_PORT ({}): each source IP holds at most {} "
                    + "upstream connections in total, whatever the number of backends",
                    transport.isNative() ? "upstream.bind-address-no-port = off" : "the nio transport cannot set it",
                    ports);
        }
        return new PortLedger(ports, !noPort);
    }

    private static Map<String, Cluster> clusters(GatewayConfig config, PortLedger ledger) {
        Map<String, Cluster> clusters = new LinkedHashMap<>();
        for (ClusterConfig cluster : config.clusters().values()) {
            List<InetAddress> sources = cluster.sources(config.upstream());
            clusters.put(cluster.name(), Cluster.of(cluster, sources, ledger));
            int sourceCount = Math.max(1, sources.size());
            int backendCount = cluster.backends().size();
            long capacity = ledger.perSourceCap()
                    ? (long) sourceCount * ledger.capacity()
                    : (long) sourceCount * backendCount * ledger.capacity();
            log.info("cluster {}: upstream capacity {} source IP(s){} x {} backend(s) x {} ports = {} connections",
                    cluster.name(), sources.isEmpty() ? "1 (kernel-chosen)" : sourceCount,
                    ledger.perSourceCap() ? " (ports shared across backends)" : "", backendCount,
                    ledger.capacity(), capacity);
        }
        return clusters;
    }

    /** Every upstream four-tuple slot with its use, for status and tests. */
    public List<UpstreamTuple> upstreamTuples() {
        return List.copyOf(ledger.tuples());
    }

    /** The address clients connect to (the real port when the config asked for 0). */
    public InetSocketAddress address() {
        return listener.address();
    }

    public TransportKind transport() {
        return loops.transport();
    }

    public GatewayConfig config() {
        return config;
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

    /**
     * Graceful stop: closes the listener at once, lets requests in flight and tunnels finish for up to
     * {@code timeout}, then closes whatever is left.
     *
     * @return how many client connections were still open when the timeout ran out (0 = clean drain)
     */
    public synchronized long drainAndStop(Duration timeout) {
        if (stopped) {
            return 0;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        listener.close();
        frontend.startDrain();
        log.info("draining: listener closed, {} client connection(s) open, up to {}", meters.inbound().active(), timeout);
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
        listener.close();
        stopLoops();
    }

    private void stopLoops() {
        stopped = true;
        admission.close();
        for (TimerWheel wheel : wheels.all()) {
            wheel.loop().execute(wheel::stop);
        }
        loops.shutdown(LOOP_SHUTDOWN);
        log.info("stopped");
    }

    static String format(InetSocketAddress address) {
        String host = address.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + address.getPort();
    }
}
