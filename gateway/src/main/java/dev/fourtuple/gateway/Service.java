package dev.fourtuple.gateway;

import dev.fourtuple.gateway.config.ConfigLoader;
import dev.fourtuple.gateway.config.ConfigProblem;
import dev.fourtuple.gateway.config.ConfigProblems;
import dev.fourtuple.gateway.config.GatewayConfig;
import dev.fourtuple.gateway.ops.AdminServer;
import dev.fourtuple.gateway.ops.LoggingSetup;
import dev.fourtuple.gateway.ops.ProcessFilesMeters;
import dev.fourtuple.gateway.ops.SystemdNotifier;
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
import java.nio.file.Path;
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

    private final @Nullable Path file;
    private final PrometheusMeterRegistry registry;
    private final Gateway gateway;
    private final @Nullable AdminServer admin;
    private final SystemdNotifier notifier;

    private Service(@Nullable Path file, PrometheusMeterRegistry registry, Gateway gateway,
            @Nullable AdminServer admin, SystemdNotifier notifier) {
        this.file = file;
        this.registry = registry;
        this.gateway = gateway;
        this.admin = admin;
        this.notifier = notifier;
    }

    /**
     * Starts everything, then tells systemd READY=1.
     *
     * @param file the config file reloads re-read, or null when there is none (demo)
     */
    static Service start(GatewayConfig config, @Nullable Path file) throws InterruptedException {
        LoggingSetup.forJournal();
        LoggingSetup.apply(config.ops());
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        bindJvmMeters(registry);
        Gateway gateway = Gateway.start(config, registry);
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
            gateway.close();
            notifier.close();
            throw BindFailedException.of("admin.listen", config.ops().admin().listen(), e);
        }
        Service service = new Service(file, registry, gateway, admin, notifier);
        notifier.ready("serving on " + Gateway.format(gateway.address()));
        notifier.startWatchdog(service::loopsAnswer);
        return service;
    }

    private static void bindJvmMeters(PrometheusMeterRegistry registry) {
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new ProcessFilesMeters(Path.of("/proc")).bindTo(registry);
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

    /** SIGTERM: STOPPING=1, drain up to drain-timeout, stop. */
    void drainAndStop() {
        notifier.stopping();
        Duration timeout = gateway.config().timeouts().drain();
        gateway.drainAndStop(timeout);
        close();
    }

    @Override
    public void close() {
        gateway.close();
        AdminServer server = admin;
        if (server != null) {
            server.close();
        }
        notifier.close();
    }
}
