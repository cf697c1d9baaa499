package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.DownPolicy;
import dev.fourtuple.gateway.config.HealthCheckSettings;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The active check of one backend address: one scheduled task on one event loop, re-armed after each
 * verdict for {@code interval} ± {@code jitter} (random each time, the first at a random offset within one
 * interval, so a cluster's checks never fire in lockstep). Each verdict goes into the address's
 * {@link BackendState}: the outcome and latency always, up or down when {@link HealthStreak} says so (logged
 * once per change), and a pass ends an ejection early.
 *
 * <p>Everything but {@link #retarget} runs on its loop. {@link #retarget} (a reload) swaps the immutable
 * {@link Target} the next check reads.
 */
final class HealthCheck {
    private static final Logger log = LoggerFactory.getLogger(HealthCheck.class);

    /** What to check and how, as the config in force says; replaced whole on reload. */
    record Target(Cluster cluster, Backend backend, HealthCheckSettings settings, HealthMeters.CheckMeters meters) {
    }

    private final EventLoop loop;
    private final Supplier<HealthProbe.Sockets> sockets;
    private final HealthChecker.DownListener onDown;
    private final HealthStreak streak = new HealthStreak();
    private volatile Target target;
    private @Nullable ScheduledFuture<?> next;
    private boolean stopped;

    HealthCheck(EventLoop loop, Target target, Supplier<HealthProbe.Sockets> sockets,
            HealthChecker.DownListener onDown) {
        this.loop = loop;
        this.target = target;
        this.sockets = sockets;
        this.onDown = onDown;
    }

    /** Arms the first check at a random moment within one interval. */
    void start() {
        loop.execute(() -> schedule(ThreadLocalRandom.current().nextLong(
                Math.max(1, target.settings().interval().toNanos()))));
    }

    /** The config changed: the next check uses {@code next} (the state and the streak carry on). */
    void retarget(Target replacement) {
        target = replacement;
    }

    /**
     * No more checks: its backend left every checked cluster. The backend counts as up again: without a check
     * nothing would ever mark it up (a backend in a cluster without a health check is always up).
     */
    void stop() {
        loop.execute(() -> {
            halt();
            BackendState state = target.backend().state();
            if (!state.up()) {
                state.up(true);
                log.info("cluster {}: backend {} no longer checked; counted as up", target.cluster().name(),
                        target.backend());
            }
        });
    }

    /** No more checks, the verdict left as it is (the gateway stops). On its loop. */
    void halt() {
        stopped = true;
        ScheduledFuture<?> pending = next;
        if (pending != null) {
            pending.cancel(false);
        }
    }

    EventLoop loop() {
        return loop;
    }

    private void schedule(long delayNanos) {
        if (!stopped) {
            next = loop.schedule(this::check, delayNanos, TimeUnit.NANOSECONDS);
        }
    }

    private void check() {
        if (stopped) {
            return;
        }
        Target now = target;
        long startedNanos = System.nanoTime();
        boolean started = HealthProbe.run(loop, now.backend(), now.settings(), sockets.get(),
                outcome -> verdict(now, outcome, startedNanos));
        if (!started) {
            schedule(jittered(now.settings()));
        }
    }

    /**
     * A check's verdict. The next check is armed from this one's start (so the period is the interval
     * whatever the latency), never before this one ended: two checks of one backend never overlap.
     */
    private void verdict(Target checked, HealthProbe.Outcome outcome, long startedNanos) {
        if (stopped) {
            return;
        }
        BackendState state = checked.backend().state();
        state.checked(outcome.text(), outcome.latencyNanos());
        checked.meters().record(outcome.passed(), outcome.latencyNanos());
        HealthCheckSettings settings = checked.settings();
        boolean wasUp = state.up();
        boolean up = streak.next(outcome.passed(), wasUp, settings.fall(), settings.rise());
        String cluster = checked.cluster().name();
        if (wasUp && !up) {
            state.up(false);
            log.warn("cluster {}: backend {} is DOWN: {} checks failed in a row (last: {}){}", cluster,
                    checked.backend(), streak.failures(), outcome.text(),
                    checked.cluster().onDown() == DownPolicy.CLOSE ? "; closing its tunnels (on-down = close)" : "");
            if (checked.cluster().onDown() == DownPolicy.CLOSE) {
                onDown.down(checked.backend());
            }
        } else if (!wasUp && up) {
            state.up(true);
            log.info("cluster {}: backend {} is UP: {} checks passed in a row (last: {})", cluster,
                    checked.backend(), streak.passes(), outcome.text());
        }
        long now = System.nanoTime();
        if (outcome.passed() && state.ejected(now)) {
            state.readmit(); // reference.conf: a passing active check ends an ejection early
            log.info("cluster {}: backend {} readmitted: its health check passed ({})", cluster, checked.backend(),
                    outcome.text());
        }
        schedule(Math.max(0, jittered(settings) - (now - startedNanos)));
    }

    /** interval stretched or shrunk by a random fraction within ±jitter. */
    static long jittered(HealthCheckSettings settings) {
        long interval = settings.interval().toNanos();
        double factor = 1 + settings.jitter() * (2 * ThreadLocalRandom.current().nextDouble() - 1);
        return (long) (interval * factor);
    }
}
