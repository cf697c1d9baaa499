package dev.fourtuple.gateway;

import dev.fourtuple.gateway.config.ConfigLoader;
import dev.fourtuple.gateway.config.ConfigProblem;
import dev.fourtuple.gateway.config.ConfigProblems;
import dev.fourtuple.gateway.config.GatewayConfig;
import dev.fourtuple.gateway.ops.AdminServer;
import dev.fourtuple.gateway.ops.DroppingAsyncAppender;
import dev.fourtuple.gateway.ops.LoggingSetup;
import dev.fourtuple.gateway.ops.ProcessFilesMeters;
import dev.fourtuple.gateway.ops.SystemdNotifier;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.netty4.NettyAllocatorMetrics;
import io.micrometer.core.instrument.binder.netty4.NettyEventExecutorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.EventExecutor;
import com.fasterxml.jackson.databind.JsonNode;
import dev.fourtuple.gateway.connection.Departure;
import dev.fourtuple.gateway.handover.Message;
import dev.fourtuple.gateway.handover.Predecessor;
import dev.fourtuple.gateway.handover.Takeover;
import dev.fourtuple.gateway.inbound.IdleConnectionState;
import dev.fourtuple.gateway.tunnel.TunnelState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway as an operated service: the {@link Gateway} plus what runs around it, the Prometheus registry
 * with JVM and Netty meters, the admin server, systemd notifications and the watchdog, reload from the
 * config file, and the drain on stop.
 */
final class Service implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Service.class);

    /** Each step of a takeover (the answer to hello, the listening sockets) must come within this. */
    private static final Duration HANDOVER_STEP = Duration.ofSeconds(30);

    private final @Nullable Path file;
    private final PrometheusMeterRegistry registry;
    private final Gateway gateway;
    private volatile @Nullable AdminServer admin;
    private final SystemdNotifier notifier;
    private volatile @Nullable Predecessor predecessor;

    private Service(@Nullable Path file, PrometheusMeterRegistry registry, Gateway gateway,
            @Nullable AdminServer admin, SystemdNotifier notifier) {
        this.file = file;
        this.registry = registry;
        this.gateway = gateway;
        this.admin = admin;
        this.notifier = notifier;
    }

    /**
     * Starts everything, then tells systemd READY=1. With a handover socket on which a process serves, takes
     * everything over from it first (its listening sockets, then its connections) and tells systemd it is the
     * main process now.
     *
     * @param file the config file reloads re-read, or null when there is none (demo)
     * @throws IllegalStateException when the running process refuses the handover (other listeners)
     * @throws UncheckedIOException  when a handover that began broke off before this process held the listeners
     */
    static Service start(GatewayConfig config, @Nullable Path file) throws InterruptedException {
        LoggingSetup.forJournal();
        LoggingSetup.apply(config.ops());
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        bindJvmMeters(registry);
        Path handover = config.ops().handoverSocket();
        Takeover takeover = handover == null ? null : takeover(handover, config);
        Gateway gateway;
        try {
            gateway = Gateway.start(config, registry, takeover == null ? Map.of() : takeover.listenerSockets());
        } catch (RuntimeException | InterruptedException e) {
            if (takeover != null) {
                takeover.close(); // the predecessor goes on serving: its copies of the sockets never closed
            }
            throw e;
        }
        if (takeover != null) {
            resumeConnections(takeover, gateway);
        }
        new NettyEventExecutorMetrics(List.<EventExecutor>copyOf(gateway.eventLoops())).bindTo(registry);
        AdminServer admin = null;
        SystemdNotifier notifier = SystemdNotifier.fromEnvironment(System.getenv());
        try {
            if (config.ops().admin().listen() != null) {
                admin = AdminServer.start(config.ops().admin(), registry::scrape,
                        () -> StatusReport.of(gateway, gateway.draining() ? "draining" : "ready"),
                        () -> !gateway.draining());
                log.info("admin on http://{}/ (metrics, healthz, readyz, status)", Gateway.format(admin.address()));
            }
        } catch (Exception e) { // a failed bind() throws its IOException unchecked
            if (takeover != null) {
                // Connections were taken over: stopping now would drop them. (A predecessor that broke off
                // the handover keeps its admin server.)
                log.error("admin.listen {}: cannot bind ({}); serving without the admin server",
                        config.ops().admin().listen(), e.getMessage());
            } else {
                gateway.close();
                notifier.close();
                throw BindFailedException.of("admin.listen", config.ops().admin().listen(), e);
            }
        }
        Service service = new Service(file, registry, gateway, admin, notifier);
        if (takeover != null) {
            notifier.readyAsMain("serving on " + Gateway.format(gateway.address()) + ", taken over from pid "
                    + takeover.predecessorPid());
        } else {
            notifier.ready("serving on " + Gateway.format(gateway.address()));
        }
        notifier.startWatchdog(service::loopsAnswer);
        if (handover != null) {
            try {
                service.predecessor = Predecessor.listen(handover, service.new HandoverHost());
            } catch (IllegalStateException e) {
                log.error("{}; upgrades without disconnecting are off until a restart", e.getMessage());
            }
        }
        return service;
    }

    private static @Nullable Takeover takeover(Path socket, GatewayConfig config) throws InterruptedException {
        try {
            return Takeover.connect(socket, Gateway.shape(config), HANDOVER_STEP);
        } catch (Takeover.RefusedException e) {
            throw new IllegalStateException(e.getMessage() + "; not started", e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Resumes what the predecessor passes on, until it says it is done. This process serves on the listening
     * sockets already, so a predecessor that breaks off now is logged, not fatal: what it had not passed on
     * stays with it.
     */
    private static void resumeConnections(Takeover takeover, Gateway gateway) throws InterruptedException {
        takeover.accepting((kind, fds, state, done) -> resume(gateway, kind, fds, state, done));
        try {
            Message.Done done = takeover.awaitDone(HANDOVER_STEP);
            log.info("took over from pid {}: {} connection(s) resumed here ({} could not be), {} left with it to "
                    + "drain", takeover.predecessorPid(), takeover.resumed(), takeover.failed(), done.left());
        } catch (IOException e) {
            log.error("handover from pid {} broke off after {} connection(s): {}; serving on", takeover.predecessorPid(),
                    takeover.resumed(), e.getMessage());
        } finally {
            takeover.close();
        }
    }

    /** One connection passed on: its kind names its state's record, its sockets come client's first. */
    private static void resume(Gateway gateway, String kind, List<Integer> fds, JsonNode state,
            Consumer<Boolean> done) {
        if (TunnelState.KIND.equals(kind) && fds.size() == 2) {
            gateway.resumeTunnel(fds.get(0), fds.get(1), Takeover.read(state, TunnelState.class), done);
        } else if (IdleConnectionState.KIND.equals(kind) && fds.size() == 1) {
            gateway.resumeIdle(fds.get(0), Takeover.read(state, IdleConnectionState.class), done);
        } else {
            throw new IllegalArgumentException("a " + kind + " with " + fds.size() + " socket(s) is nothing this "
                    + "version resumes");
        }
    }

    /** SIGUSR2 and {@code fourtuple upgrade}: start a successor that takes everything over. */
    void upgrade() {
        Predecessor handover = predecessor;
        if (handover == null) {
            log.warn("SIGUSR2: handover.socket is off: no upgrade without disconnecting (restart instead)");
            return;
        }
        handover.upgrade();
    }

    /** What this process offers a successor. */
    private final class HandoverHost implements Predecessor.Host {
        @Override
        public List<String> listeners() {
            return Gateway.shape(gateway.config());
        }

        @Override
        public Map<String, List<Integer>> listenerSockets() {
            return gateway.listenerSockets();
        }

        @Override
        public void pauseListeners() {
            gateway.pauseListeners();
        }

        @Override
        public void resumeListeners() {
            gateway.resumeListeners();
        }

        @Override
        public void releaseListeners() {
            gateway.releaseListeners();
        }

        @Override
        public void depart(int max, Consumer<Departure> ready, BiConsumer<Integer, Integer> swept) {
            gateway.depart(max, ready, swept);
        }

        @Override
        public long connections() {
            return gateway.inboundMeters().active();
        }

        @Override
        public boolean serving() {
            return !gateway.draining();
        }

        @Override
        public void handedOver(long moved, long left) {
            AdminServer server = admin;
            admin = null;
            if (server != null) {
                server.close(); // the successor binds the admin address next
            }
        }

        @Override
        public void drainAndExit() {
            // Not STOPPING=1: systemd's main process is the successor now, and this is not the service stopping.
            gateway.drainAndStop(gateway.config().timeouts().drain());
            close();
            System.exit(0);
        }
    }

    private static void bindJvmMeters(PrometheusMeterRegistry registry) {
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new ProcessFilesMeters(Path.of("/proc")).bindTo(registry);
        FunctionCounter.builder("fourtuple.log.events.dropped", registry, r -> DroppingAsyncAppender.dropped())
                .description("log events dropped because stdout could not keep up (the loops never wait for it)")
                .register(registry);
        if (ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider allocator) {
            new NettyAllocatorMetrics(allocator).bindTo(registry);
        }
    }

    Gateway gateway() {
        return gateway;
    }

    @Nullable AdminServer admin() {
        return admin;
    }

    PrometheusMeterRegistry registry() {
        return registry;
    }

    /** Every event loop runs a no-op within a second: none is stuck. For the systemd watchdog. */
    private boolean loopsAnswer() {
        for (EventLoop loop : gateway.eventLoops()) {
            if (!loop.submit(() -> { }).awaitUninterruptibly(1, TimeUnit.SECONDS)) {
                return false;
            }
        }
        return true;
    }

    /**
     * SIGHUP: re-reads and validates the whole file; if anything is wrong, nothing changes and every problem
     * is logged with file:line. Tells systemd RELOADING=1, then READY=1 either way (with the outcome as
     * STATUS), since the service goes on serving.
     */
    void reload() {
        if (file == null) {
            log.warn("SIGHUP: no config file to reload");
            return;
        }
        notifier.reloading();
        try {
            GatewayConfig next = ConfigLoader.load(file);
            Gateway.Reload outcome = gateway.reload(next);
            LoggingSetup.apply(next.ops());
            notifier.ready("config version " + outcome.version() + " from " + file
                    + (outcome.needRestart().isEmpty() ? "" : "; restart needed for " + outcome.needRestart()));
        } catch (ConfigProblems e) {
            for (ConfigProblem problem : e.problems()) {
                log.error("reload refused: {}", problem);
            }
            log.error("reload refused: {} problem(s) in {}; the running config (version {}) stays",
                    e.problems().size(), file, gateway.configVersion());
            notifier.ready("reload refused: " + e.problems().size() + " problem(s) in " + file
                    + "; still on config version " + gateway.configVersion());
        } catch (IllegalStateException e) {
            for (String line : e.getMessage().split("\n")) {
                log.error("reload refused: {}: {}", file, line);
            }
            notifier.ready("reload refused; still on config version " + gateway.configVersion());
        }
    }

    /** SIGTERM: STOPPING=1, not ready for drain-delay with the listeners open, drain up to drain-timeout, stop. */
    void drainAndStop() {
        Predecessor handover = predecessor;
        if (handover != null) {
            handover.close(); // no successor takes over a process that is stopping
        }
        notifier.stopping();
        Duration timeout = gateway.config().timeouts().drain();
        gateway.drainAndStop(gateway.config().ops().drainDelay(), timeout);
        close();
    }

    @Override
    public void close() {
        Predecessor handover = predecessor;
        predecessor = null;
        if (handover != null) {
            handover.close();
        }
        gateway.close();
        AdminServer server = admin;
        if (server != null) {
            server.close();
        }
        notifier.close();
    }
}
