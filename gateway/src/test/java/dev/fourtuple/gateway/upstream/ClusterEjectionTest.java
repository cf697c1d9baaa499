package dev.fourtuple.gateway.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fourtuple.gateway.config.BackendConfig;
import dev.fourtuple.gateway.config.BalancerKind;
import dev.fourtuple.gateway.config.ClusterConfig;
import dev.fourtuple.gateway.config.DownPolicy;
import dev.fourtuple.gateway.config.OutlierSettings;
import dev.fourtuple.gateway.config.SendProxyProtocol;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Outlier ejection's arithmetic in {@link Cluster#failed}: base × times, the cap, max-ejection, the jitter. */
class ClusterEjectionTest {
    private static final long BASE = TimeUnit.SECONDS.toNanos(10);
    private static final long CAP = TimeUnit.SECONDS.toNanos(35);

    private static Cluster cluster(int backends, double maxEjection) {
        List<BackendConfig> entries = new ArrayList<>();
        for (int i = 0; i < backends; i++) {
            entries.add(BackendConfig.of(new InetSocketAddress("127.0.0.1", 9000 + i)));
        }
        ClusterConfig config = new ClusterConfig("c", entries, BalancerKind.ROUND_ROBIN, null, null, null, null,
                null, new OutlierSettings(3, Duration.ofNanos(BASE), Duration.ofNanos(CAP), maxEjection),
                DownPolicy.KEEP, SendProxyProtocol.OFF);
        return Cluster.of(config, List.of(), new PortLedger(100, false));
    }

    /** Fails {@code backend} until an ejection; returns its length in nanoseconds. */
    private static long ejectAt(Cluster cluster, Backend backend, long now) {
        assertThat(cluster.failed(backend, now)).isFalse();
        assertThat(cluster.failed(backend, now)).isFalse();
        assertThat(cluster.failed(backend, now)).isTrue();
        return backend.ejectedUntilNanos() - now;
    }

    private static void assertWithinTenPercent(long actual, long planned) {
        assertThat(actual).isBetween(planned - planned / 10 - 1, planned + planned / 10 + 1);
    }

    @Test
    void theNthEjectionLastsNTimesBaseUntilTheCap() {
        Cluster cluster = cluster(3, 0.5);
        Backend backend = cluster.backends().get(0);
        long now = 0;
        long[] planned = {BASE, 2 * BASE, 3 * BASE, CAP, CAP};
        for (int n = 0; n < planned.length; n++) {
            long length = ejectAt(cluster, backend, now);
            assertWithinTenPercent(length, planned[n]);
            assertThat(backend.ejections()).isEqualTo(n + 1);
            assertThat(backend.ejected(now + length - 1)).isTrue();
            assertThat(backend.available(now)).isFalse();
            now += length; // served out
            assertThat(backend.ejected(now)).isFalse();
        }
    }

    @Test
    void failuresDuringAnEjectionDoNotExtendIt() {
        Cluster cluster = cluster(3, 0.5);
        Backend backend = cluster.backends().get(0);
        long length = ejectAt(cluster, backend, 0);
        long until = backend.ejectedUntilNanos();
        for (int i = 0; i < 10; i++) {
            assertThat(cluster.failed(backend, 1)).isFalse();
        }
        assertThat(backend.ejectedUntilNanos()).isEqualTo(until);
        assertThat(length).isPositive();
    }

    @Test
    void aSuccessEndsTheFailureStreak() {
        Cluster cluster = cluster(3, 0.5);
        Backend backend = cluster.backends().get(0);
        cluster.failed(backend, 0);
        cluster.failed(backend, 0);
        cluster.succeeded(backend);
        assertThat(cluster.failed(backend, 0)).isFalse();
        assertThat(cluster.failed(backend, 0)).isFalse();
        assertThat(cluster.failed(backend, 0)).isTrue();
    }

    @Test
    void maxEjectionCapsHowManyAreOutAtOnce() {
        Cluster cluster = cluster(3, 0.5); // 3 × 50% = 1.5: one at most
        ejectAt(cluster, cluster.backends().get(0), 0);
        Backend second = cluster.backends().get(1);
        for (int i = 0; i < 10; i++) {
            assertThat(cluster.failed(second, 0)).isFalse();
        }
        assertThat(cluster.ejected(0)).isEqualTo(1);
        // once the first one's ejection is over, the second may go
        long later = cluster.backends().get(0).ejectedUntilNanos();
        assertThat(cluster.failed(second, later)).isTrue();
        assertThat(cluster.ejected(later)).isEqualTo(1);
    }

    @Test
    void maxEjectionIsAtLeastOneAndNeverTheOnlyBackend() {
        Cluster four = cluster(4, 0.1); // 0.4 rounds down, but one may always go
        ejectAt(four, four.backends().get(0), 0);
        assertThat(four.failed(four.backends().get(1), 0)).isFalse();
        Cluster single = cluster(1, 1.0);
        Backend only = single.backends().get(0);
        for (int i = 0; i < 10; i++) {
            assertThat(single.failed(only, 0)).isFalse();
        }
        assertThat(only.ejections()).isZero();
    }

    @Test
    void aReadmittedBackendIsAvailableAgainAndPicked() {
        Cluster cluster = cluster(2, 0.5);
        Backend backend = cluster.backends().get(0);
        ejectAt(cluster, backend, System.nanoTime());
        Set<Backend> picked = new HashSet<>();
        for (int i = 0; i < 10; i++) {
            picked.add(cluster.pick(Set.of()));
        }
        assertThat(picked).doesNotContain(backend);
        backend.state().readmit();
        for (int i = 0; i < 10; i++) {
            picked.add(cluster.pick(Set.of()));
        }
        assertThat(picked).contains(backend);
    }

    @Test
    void whenAllAreOutTheClusterUsesThemAnyway() {
        Cluster cluster = cluster(2, 0.5);
        cluster.backends().forEach(b -> b.state().up(false)); // both down by their checks
        assertThat(cluster.pick(Set.of())).isNotNull();
    }
}
