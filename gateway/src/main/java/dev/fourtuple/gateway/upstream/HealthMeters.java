package dev.fourtuple.gateway.upstream;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Meters of backend health, tagged {@code cluster} and {@code backend} (the backend's name):
 * <ul>
 *   <li>{@code fourtuple.upstream.backend.up}: 1 while its active check says up (always 1 without a check)</li>
 *   <li>{@code fourtuple.upstream.backend.ejected}: 1 while outlier detection has it out</li>
 *   <li>{@code fourtuple.upstream.backend.ejections}: times it was ejected</li>
 *   <li>{@code fourtuple.upstream.health.check.latency}: how long its checks took</li>
 *   <li>{@code fourtuple.upstream.health.checks{result=pass|fail}}: its checks by outcome</li>
 * </ul>
 * As with the tuples' gauges, a reload registers what is new and keeps what stays; unlike tuples (which the
 * ledger keeps for good), the meters of a backend a reload removed are removed, so a gone backend does not
 * report "up" for ever. The values come from {@link BackendState}, which outlives reloads.
 */
public final class HealthMeters {
    private final MeterRegistry registry;
    private final Map<Key, List<Meter>> registered = new ConcurrentHashMap<>();
    private final Map<Key, CheckMeters> checks = new ConcurrentHashMap<>();

    /** One backend of one cluster. */
    private record Key(String cluster, String backend, InetSocketAddress address) {
        Tags tags() {
            return Tags.of("cluster", cluster, "backend", backend);
        }
    }

    /** The meters one backend's checks feed. */
    record CheckMeters(Timer latency, Counter passed, Counter failed) {
        void record(boolean pass, long latencyNanos) {
            latency.record(latencyNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
            (pass ? passed : failed).increment();
        }
    }

    public HealthMeters(MeterRegistry registry) {
        this.registry = registry;
    }

    /** Registers the meters of backends new in {@code clusters}, removes those of backends gone. */
    public synchronized void update(Collection<Cluster> clusters) {
        Set<Key> now = new HashSet<>();
        for (Cluster cluster : clusters) {
            for (Backend backend : cluster.backends()) {
                Key key = new Key(cluster.name(), backend.name(), backend.address());
                now.add(key);
                registered.computeIfAbsent(key, k -> register(k, backend.state()));
            }
        }
        for (Key gone : new ArrayList<>(registered.keySet())) {
            if (!now.contains(gone)) {
                registered.remove(gone).forEach(registry::remove);
                CheckMeters check = checks.remove(gone);
                if (check != null) {
                    registry.remove(check.latency());
                    registry.remove(check.passed());
                    registry.remove(check.failed());
                }
            }
        }
    }

    private List<Meter> register(Key key, BackendState state) {
        Tags tags = key.tags();
        return List.of(
                Gauge.builder("fourtuple.upstream.backend.up", state, s -> s.up() ? 1 : 0)
                        .description("1 while the backend's active health check says up (1 without a check)")
                        .tags(tags).register(registry),
                Gauge.builder("fourtuple.upstream.backend.ejected", state, s -> s.ejected(System.nanoTime()) ? 1 : 0)
                        .description("1 while outlier detection has the backend out of its balancer")
                        .tags(tags).register(registry),
                FunctionCounter.builder("fourtuple.upstream.backend.ejections", state, BackendState::ejections)
                        .description("Times outlier detection ejected the backend")
                        .tags(tags).register(registry));
    }

    /** The meters of the checks of {@code backend} as {@code cluster}'s health check runs them. */
    CheckMeters checks(Cluster cluster, Backend backend) {
        Key key = new Key(cluster.name(), backend.name(), backend.address());
        return checks.computeIfAbsent(key, k -> new CheckMeters(
                Timer.builder("fourtuple.upstream.health.check.latency")
                        .description("Time an active health check took, to its verdict")
                        .tags(k.tags()).register(registry),
                Counter.builder("fourtuple.upstream.health.checks").description("Active health checks by result")
                        .tags(k.tags()).tag("result", "pass").register(registry),
                Counter.builder("fourtuple.upstream.health.checks").description("Active health checks by result")
                        .tags(k.tags()).tag("result", "fail").register(registry)));
    }
}
