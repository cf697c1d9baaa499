package dev.fourtuple.gateway.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fourtuple.gateway.config.BalancerKind;
import dev.fourtuple.gateway.config.ClusterConfig;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

class BalancerTest {
    private static final int PICKS = 3_000;

    private static List<Backend> backends(int count) {
        List<Backend> list = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            list.add(Backend.of(new InetSocketAddress("127.0.0.1", 9000 + i), new PortLedger(100, false)));
        }
        return List.copyOf(list);
    }

    private static void load(Backend backend, int active) {
        for (int i = 0; i < active; i++) {
            backend.started();
        }
    }

    private static Map<Backend, Integer> tally(Balancer balancer, List<Backend> backends, Set<Backend> exclude,
            int picks) {
        Map<Backend, Integer> counts = new HashMap<>();
        for (int i = 0; i < picks; i++) {
            counts.merge(balancer.pick(excluding(exclude)), 1, Integer::sum);
        }
        return counts;
    }

    private static Predicate<Backend> excluding(Set<Backend> exclude) {
        return b -> !exclude.contains(b);
    }

    // ---- round robin ----

    @Test
    void roundRobinCyclesThroughAllBackendsInOrder() {
        List<Backend> backends = backends(3);
        Balancer balancer = new RoundRobinBalancer(backends);

        List<Backend> picked = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            picked.add(balancer.pick(excluding(Set.of())));
        }

        assertThat(picked).containsExactly(backends.get(0), backends.get(1), backends.get(2),
                backends.get(0), backends.get(1), backends.get(2));
    }

    @Test
    void roundRobinSpreadsEvenly() {
        List<Backend> backends = backends(4);

        Map<Backend, Integer> counts = tally(new RoundRobinBalancer(backends), backends, Set.of(), 4 * 250);

        assertThat(counts).hasSize(4);
        assertThat(counts.values()).containsOnly(250);
    }

    @Test
    void roundRobinIgnoresLoad() {
        List<Backend> backends = backends(2);
        load(backends.get(0), 100);

        Map<Backend, Integer> counts = tally(new RoundRobinBalancer(backends), backends, Set.of(), 100);

        assertThat(counts).containsEntry(backends.get(0), 50).containsEntry(backends.get(1), 50);
    }

    @Test
    void roundRobinSkipsExcludedBackends() {
        List<Backend> backends = backends(3);
        Backend excluded = backends.get(1);

        Map<Backend, Integer> counts = tally(new RoundRobinBalancer(backends), backends, Set.of(excluded), 300);

        assertThat(counts).doesNotContainKey(excluded);
        assertThat(counts.keySet()).containsExactlyInAnyOrder(backends.get(0), backends.get(2));
        assertThat(counts.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(300);
    }

    @Test
    void roundRobinReturnsNullWhenEveryBackendIsExcluded() {
        List<Backend> backends = backends(3);

        assertThat(new RoundRobinBalancer(backends).pick(excluding(Set.copyOf(backends)))).isNull();
    }

    @Test
    void roundRobinWithOneBackendAlwaysPicksIt() {
        List<Backend> backends = backends(1);
        Balancer balancer = new RoundRobinBalancer(backends);

        assertThat(tally(balancer, backends, Set.of(), 10)).containsOnlyKeys(backends.get(0));
        assertThat(balancer.pick(excluding(Set.of(backends.get(0))))).isNull();
    }

    // ---- least connections (power of two choices) ----

    @Test
    void leastConnectionsNeverPicksTheMostLoadedOfSeveral() {
        // The two random draws are distinct backends, so the busier of the pair always loses: the single most
        // loaded backend can never win.
        for (int size = 2; size <= 5; size++) {
            List<Backend> backends = backends(size);
            Backend busy = backends.get(size / 2);
            load(busy, 100);

            Map<Backend, Integer> counts = tally(new LeastConnectionsBalancer(backends), backends, Set.of(), PICKS);

            assertThat(counts).as("%d backends", size).doesNotContainKey(busy);
        }
    }

    @Test
    void leastConnectionsWithTwoBackendsAlwaysPicksTheLessLoaded() {
        List<Backend> backends = backends(2);
        load(backends.get(0), 3);
        load(backends.get(1), 2);

        assertThat(tally(new LeastConnectionsBalancer(backends), backends, Set.of(), PICKS))
                .containsOnlyKeys(backends.get(1));
    }

    @Test
    void leastConnectionsPrefersTheIdlerBackends() {
        List<Backend> backends = backends(4);
        load(backends.get(0), 0);
        load(backends.get(1), 1);
        load(backends.get(2), 2);
        load(backends.get(3), 3);

        Map<Backend, Integer> counts = tally(new LeastConnectionsBalancer(backends), backends, Set.of(), PICKS);

        // Expected shares: 1/2, 1/3, 1/6, 0. Wide margins keep this free of flakiness.
        assertThat(counts).doesNotContainKey(backends.get(3));
        assertThat(counts.get(backends.get(0))).isGreaterThan(counts.get(backends.get(1)));
        assertThat(counts.get(backends.get(1))).isGreaterThan(counts.get(backends.get(2)));
    }

    @Test
    void leastConnectionsSpreadsOverEquallyLoadedBackends() {
        List<Backend> backends = backends(3);

        Map<Backend, Integer> counts = tally(new LeastConnectionsBalancer(backends), backends, Set.of(), PICKS);

        assertThat(counts).hasSize(3);
        assertThat(counts.values()).allSatisfy(n -> assertThat(n).isGreaterThan(PICKS / 6));
    }

    @Test
    void leastConnectionsFollowsStartedAndFinished() {
        List<Backend> backends = backends(2);
        Balancer balancer = new LeastConnectionsBalancer(backends);
        backends.get(0).started();
        assertThat(balancer.pick(excluding(Set.of()))).isSameAs(backends.get(1));

        backends.get(1).started();
        backends.get(1).started();
        assertThat(balancer.pick(excluding(Set.of()))).isSameAs(backends.get(0));

        backends.get(1).finished();
        backends.get(1).finished();
        assertThat(backends.get(1).active()).isZero();
        assertThat(balancer.pick(excluding(Set.of()))).isSameAs(backends.get(1));
    }

    @Test
    void leastConnectionsWithExclusionsPicksTheLeastLoadedRemaining() {
        List<Backend> backends = backends(4);
        load(backends.get(0), 0);
        load(backends.get(1), 5);
        load(backends.get(2), 2);
        load(backends.get(3), 9);
        Balancer balancer = new LeastConnectionsBalancer(backends);

        // Two draws among the eligible (or a scan when a draw hits the excluded one): never the excluded, never
        // the most loaded.
        assertThat(tally(balancer, backends, Set.of(backends.get(0)), 50).keySet())
                .doesNotContain(backends.get(0), backends.get(3));
        assertThat(balancer.pick(excluding(Set.of(backends.get(0), backends.get(2))))).isSameAs(backends.get(1));
        assertThat(balancer.pick(excluding(Set.of(backends.get(0), backends.get(1), backends.get(2)))))
                .isSameAs(backends.get(3));
    }

    @Test
    void leastConnectionsReturnsNullWhenEveryBackendIsExcluded() {
        List<Backend> backends = backends(3);
        Balancer balancer = new LeastConnectionsBalancer(backends);

        assertThat(balancer.pick(excluding(Set.copyOf(backends)))).isNull();
        List<Backend> single = backends(1);
        assertThat(new LeastConnectionsBalancer(single).pick(excluding(Set.copyOf(single)))).isNull();
    }

    @Test
    void leastConnectionsWithOneBackendPicksItWhateverItsLoad() {
        List<Backend> backends = backends(1);
        load(backends.get(0), 1_000);

        assertThat(new LeastConnectionsBalancer(backends).pick(excluding(Set.of()))).isSameAs(backends.get(0));
    }

    // ---- through a cluster ----

    @Test
    void clusterUsesTheConfiguredBalancerOverItsBackendsInFileOrder() {
        List<InetSocketAddress> addresses = List.of(
                new InetSocketAddress("127.0.0.1", 9001), new InetSocketAddress("127.0.0.1", 9002));
        Cluster roundRobin = Cluster.of(new ClusterConfig("rr", addresses, BalancerKind.ROUND_ROBIN, null), List.of(),
                new PortLedger(100, false));

        assertThat(roundRobin.name()).isEqualTo("rr");
        assertThat(roundRobin.backends()).extracting(Backend::address).containsExactlyElementsOf(addresses);
        assertThat(roundRobin.pick(Set.of()).address()).isEqualTo(addresses.get(0));
        assertThat(roundRobin.pick(Set.of()).address()).isEqualTo(addresses.get(1));
        assertThat(roundRobin.pick(Set.copyOf(roundRobin.backends()))).isNull();

        Cluster leastConnections = Cluster.of(new ClusterConfig("lc", addresses, BalancerKind.LEAST_CONNECTIONS, null),
                List.of(), new PortLedger(100, false));
        Backend busy = leastConnections.backends().get(0);
        busy.started();
        for (int i = 0; i < 100; i++) {
            assertThat(leastConnections.pick(Set.of())).isNotSameAs(busy);
        }
    }
}
