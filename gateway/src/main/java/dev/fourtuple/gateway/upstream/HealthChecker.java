package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.HealthCheckSettings;
import dev.fourtuple.gateway.config.UpstreamSettings;
import dev.fourtuple.gateway.transport.EventLoops;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.channel.EventLoop;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The active health checks of every cluster that has a {@code health-check}: one {@link HealthCheck} per
 * backend address, spread over the gateway's event loops in turn. Never a task per client connection.
 *
 * <p>One check per address, not per (cluster, address): {@link BackendState} is per address and shared by the
 * clusters that list it, so two checks with different settings would fight over its verdict. The first
 * cluster (in config order) with a health check that lists the address owns its check: its settings, its
 * {@code on-down}, its meters' tags.
 *
 * <p>A reload ({@link #update}) stops the checks of addresses no checked cluster has any more, lets the others
 * run on (their state and streak carry over: no backend is reset to up by a reload), and starts new ones.
 * {@link #update} and {@link #stop} are called by one thread at a time (start, reload, stop).
 */
public final class HealthChecker {
    private static final Logger log = LoggerFactory.getLogger(HealthChecker.class);

    /** Told when a check marks a backend down whose cluster says {@code on-down = close}; on the check's loop. */
    public interface DownListener {
        void down(Backend backend);
    }

    private final List<EventLoop> loops;
    private final HealthMeters meters;
    private final DownListener onDown;
    private final TransportKind transport;
    private final Map<InetSocketAddress, HealthCheck> running = new HashMap<>();
    private volatile HealthProbe.Sockets sockets;
    private int nextLoop;

    public HealthChecker(EventLoops loops, UpstreamSettings upstream, HealthMeters meters,
            DownListener onDown) {
        this.loops = loops.loops();
        this.meters = meters;
        this.onDown = onDown;
        this.transport = loops.transport();
        this.sockets = sockets(upstream);
    }

    private HealthProbe.Sockets sockets(UpstreamSettings upstream) {
        return new HealthProbe.Sockets(transport, upstream.bindAddressNoPort(), upstream.localPortRange());
    }

    /** Starts, keeps, retargets and stops checks so that exactly the backends of checked clusters are checked. */
    public synchronized void update(Collection<Cluster> clusters, UpstreamSettings upstream) {
        sockets = sockets(upstream);
        meters.update(clusters);
        Map<InetSocketAddress, HealthCheck.Target> wanted = new LinkedHashMap<>();
        for (Cluster cluster : clusters) {
            HealthCheckSettings settings = cluster.healthCheck();
            if (settings == null) {
                continue;
            }
            for (Backend backend : cluster.backends()) {
                if (!wanted.containsKey(backend.address())) {
                    wanted.put(backend.address(), new HealthCheck.Target(cluster, backend, settings,
                            meters.checks(cluster, backend)));
                }
            }
        }
        for (InetSocketAddress address : new ArrayList<>(running.keySet())) {
            if (!wanted.containsKey(address)) {
                running.remove(address).stop();
            }
        }
        int started = 0;
        for (Map.Entry<InetSocketAddress, HealthCheck.Target> entry : wanted.entrySet()) {
            HealthCheck check = running.get(entry.getKey());
            if (check != null) {
                check.retarget(entry.getValue());
                continue;
            }
            check = new HealthCheck(loops.get(nextLoop++ % loops.size()), entry.getValue(), () -> sockets, onDown);
            running.put(entry.getKey(), check);
            check.start();
            started++;
        }
        if (!wanted.isEmpty() || started > 0) {
            log.info("health checks: {} backend(s) checked ({} new)", running.size(), started);
        }
    }

    /** Stops every check (the gateway stops). */
    public synchronized void stop() {
        running.values().forEach(check -> check.loop().execute(check::halt));
        running.clear();
    }
}
