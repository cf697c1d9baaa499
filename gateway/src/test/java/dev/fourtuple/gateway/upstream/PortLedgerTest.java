package dev.fourtuple.gateway.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.config.BalancerKind;
import dev.fourtuple.gateway.config.ClusterConfig;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class PortLedgerTest {
    private static final InetSocketAddress BACKEND_1 = new InetSocketAddress(ip("127.0.0.1"), 9001);
    private static final InetSocketAddress BACKEND_2 = new InetSocketAddress(ip("127.0.0.1"), 9002);

    private static InetAddress ip(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /** One tuple per source 127.0.0.{2..}, all towards {@code backend}. */
    private static List<UpstreamTuple> tuples(PortLedger ledger, int sources, InetSocketAddress backend) {
        List<UpstreamTuple> tuples = new ArrayList<>();
        for (int i = 0; i < sources; i++) {
            tuples.add(ledger.tuple(ip("127.0.0." + (2 + i)), backend));
        }
        return List.copyOf(tuples);
    }

    private static void acquireAll(PortLedger ledger, List<UpstreamTuple> candidates, int times) {
        for (int i = 0; i < times; i++) {
            assertThat(ledger.acquire(candidates)).as("acquire #%d", i + 1).isNotNull();
        }
    }

    @Test
    void acquireSpreadsEvenlyOverSourcesUntilEveryTupleIsFull() {
        PortLedger ledger = new PortLedger(10, false);
        List<UpstreamTuple> tuples = tuples(ledger, 4, BACKEND_1);

        Map<UpstreamTuple, Integer> picks = new HashMap<>();
        for (int i = 0; i < 40; i++) {
            UpstreamTuple picked = ledger.acquire(tuples);
            assertThat(picked).as("acquire #%d", i + 1).isNotNull();
            picks.merge(picked, 1, Integer::sum);
            // Most headroom first: no tuple is ever more than one connection ahead of another.
            int max = tuples.stream().mapToInt(UpstreamTuple::inUse).max().orElseThrow();
            int min = tuples.stream().mapToInt(UpstreamTuple::inUse).min().orElseThrow();
            assertThat(max - min).as("spread after %d acquires", i + 1).isLessThanOrEqualTo(1);
        }

        assertThat(picks).containsOnlyKeys(tuples);
        assertThat(picks.values()).containsOnly(10);
        assertThat(tuples).extracting(UpstreamTuple::inUse).containsOnly(10);
        assertThat(ledger.acquire(tuples)).as("41st: every tuple is full").isNull();
        assertThat(ledger.full(tuples)).containsExactlyElementsOf(tuples);
    }

    @Test
    void acquirePicksTheCandidateWithTheMostHeadroom() {
        PortLedger ledger = new PortLedger(10, false);
        List<UpstreamTuple> tuples = tuples(ledger, 3, BACKEND_1);
        acquireAll(ledger, List.of(tuples.get(0)), 5);
        acquireAll(ledger, List.of(tuples.get(2)), 2);

        assertThat(ledger.acquire(tuples)).isSameAs(tuples.get(1));
        assertThat(ledger.headroom(tuples.get(0))).isEqualTo(5);
        assertThat(ledger.headroom(tuples.get(1))).isEqualTo(9);
        assertThat(ledger.headroom(tuples.get(2))).isEqualTo(8);
    }

    @Test
    void acquireFromNoCandidatesIsNull() {
        assertThat(new PortLedger(10, false).acquire(List.of())).isNull();
    }

    @Test
    void releaseFreesASlot() {
        PortLedger ledger = new PortLedger(2, false);
        UpstreamTuple tuple = ledger.tuple(ip("127.0.0.2"), BACKEND_1);
        acquireAll(ledger, List.of(tuple), 2);
        assertThat(ledger.acquire(List.of(tuple))).isNull();

        ledger.release(tuple);

        assertThat(tuple.inUse()).isEqualTo(1);
        assertThat(ledger.headroom(tuple)).isEqualTo(1);
        assertThat(ledger.acquire(List.of(tuple))).isSameAs(tuple);
    }

    @Test
    void closedFreesASlot() {
        PortLedger ledger = new PortLedger(2, false);
        UpstreamTuple tuple = ledger.tuple(null, BACKEND_1);
        acquireAll(ledger, List.of(tuple), 2);

        ledger.closed(tuple);

        assertThat(tuple.inUse()).isEqualTo(1);
        assertThat(ledger.acquire(List.of(tuple))).isSameAs(tuple);
        assertThat(ledger.acquire(List.of(tuple))).isNull();
    }

    @Test
    void markFullCapsATupleAtWhatItHoldsAndTheNextAcquireGoesElsewhere() {
        PortLedger ledger = new PortLedger(10, false);
        List<UpstreamTuple> tuples = tuples(ledger, 2, BACKEND_1);
        UpstreamTuple refused = tuples.get(0);
        acquireAll(ledger, List.of(refused), 3);
        assertThat(refused.learnedFull()).isFalse();

        ledger.markFull(refused);

        assertThat(refused.learnedFull()).isTrue();
        assertThat(ledger.headroom(refused)).isZero();
        assertThat(ledger.full(tuples)).containsExactly(refused);
        // Uncapped, the refused tuple (7 free) would win picks once the other had fewer free; capped, it never does.
        for (int i = 0; i < 10; i++) {
            assertThat(ledger.acquire(tuples)).as("acquire #%d", i + 1).isSameAs(tuples.get(1));
        }
        assertThat(ledger.acquire(tuples)).isNull();
        assertThat(refused.inUse()).isEqualTo(3);
    }

    @Test
    void markFullOnAnEmptyTupleLeavesItNoHeadroom() {
        PortLedger ledger = new PortLedger(10, false);
        UpstreamTuple tuple = ledger.tuple(ip("127.0.0.2"), BACKEND_1);

        ledger.markFull(tuple);

        assertThat(tuple.learnedFull()).isTrue();
        assertThat(ledger.headroom(tuple)).isZero();
        assertThat(ledger.acquire(List.of(tuple))).isNull();
    }

    @Test
    void learnedCapIsForgottenWhenAConnectionOnTheTupleCloses() {
        PortLedger ledger = new PortLedger(10, false);
        UpstreamTuple tuple = ledger.tuple(ip("127.0.0.2"), BACKEND_1);
        acquireAll(ledger, List.of(tuple), 3);
        ledger.markFull(tuple);

        ledger.closed(tuple);

        assertThat(tuple.learnedFull()).isFalse();
        assertThat(ledger.headroom(tuple)).as("the whole capacity again, not the learned 3").isEqualTo(8);
    }

    @Test
    void learnedCapIsForgottenOnceTheTupleEmpties() {
        PortLedger ledger = new PortLedger(10, false);
        UpstreamTuple tuple = ledger.tuple(ip("127.0.0.2"), BACKEND_1);
        acquireAll(ledger, List.of(tuple), 2);
        ledger.markFull(tuple);

        ledger.closed(tuple);
        ledger.closed(tuple);

        assertThat(tuple.inUse()).isZero();
        assertThat(tuple.learnedFull()).isFalse();
        assertThat(ledger.headroom(tuple)).isEqualTo(10);
        acquireAll(ledger, List.of(tuple), 10);
        assertThat(ledger.acquire(List.of(tuple))).isNull();
    }

    @Test
    void aFailedConnectKeepsTheLearnedCapButFreesItsSlot() {
        // The connector releases the failed attempt's slot before marking the tuple full: the cap is then
        // what is really open, and a connect that fails for another reason leaves room for exactly one.
        PortLedger ledger = new PortLedger(10, false);
        UpstreamTuple tuple = ledger.tuple(ip("127.0.0.2"), BACKEND_1);
        acquireAll(ledger, List.of(tuple), 3);
        ledger.markFull(tuple);

        ledger.release(tuple);

        assertThat(tuple.learnedFull()).isFalse();
        assertThat(ledger.headroom(tuple)).isEqualTo(1);
    }

    @Test
    @Timeout(10)
    void learnedCapExpiresAfterASecond() {
        PortLedger ledger = new PortLedger(10, false);
        UpstreamTuple tuple = ledger.tuple(ip("127.0.0.2"), BACKEND_1);
        acquireAll(ledger, List.of(tuple), 3);
        ledger.markFull(tuple);
        assertThat(ledger.headroom(tuple)).isZero();

        await().pollInterval(Duration.ofMillis(50)).atMost(Duration.ofSeconds(5))
                .until(() -> !tuple.learnedFull());

        assertThat(ledger.headroom(tuple)).isEqualTo(7);
    }

    @Test
    void perSourceCapSharesOneSourcesPortsAcrossItsBackends() {
        // Without IP_BIND_ADDRESS_NO_PORT bind() reserves the port for the source IP whatever the destination.
        PortLedger ledger = new PortLedger(10, true);
        InetAddress source = ip("127.0.0.2");
        UpstreamTuple toFirst = ledger.tuple(source, BACKEND_1);
        UpstreamTuple toSecond = ledger.tuple(source, BACKEND_2);
        acquireAll(ledger, List.of(toFirst), 6);

        assertThat(ledger.headroom(toSecond)).isEqualTo(4);
        acquireAll(ledger, List.of(toSecond), 4);

        assertThat(ledger.acquire(List.of(toSecond))).isNull();
        assertThat(ledger.acquire(List.of(toFirst))).isNull();
        assertThat(ledger.full(List.of(toFirst, toSecond))).containsExactly(toFirst, toSecond);
        assertThat(toFirst.inUse() + toSecond.inUse()).isEqualTo(10);

        ledger.release(toFirst);
        assertThat(ledger.headroom(toSecond)).as("a slot freed on one backend is free for the other").isEqualTo(1);
        ledger.closed(toSecond);
        assertThat(ledger.headroom(toFirst)).isEqualTo(2);
    }

    @Test
    void perSourceCapDoesNotTieDifferentSources() {
        PortLedger ledger = new PortLedger(10, true);
        UpstreamTuple first = ledger.tuple(ip("127.0.0.2"), BACKEND_1);
        UpstreamTuple second = ledger.tuple(ip("127.0.0.3"), BACKEND_2);
        acquireAll(ledger, List.of(first), 10);

        assertThat(ledger.headroom(second)).isEqualTo(10);
        acquireAll(ledger, List.of(second), 10);
        assertThat(ledger.acquire(List.of(first, second))).isNull();
    }

    @Test
    void perSourceCapLeavesKernelChosenSourcesPerTuple() {
        // No bind at all: the kernel picks the port at connect time, per four-tuple.
        PortLedger ledger = new PortLedger(10, true);
        UpstreamTuple first = ledger.tuple(null, BACKEND_1);
        UpstreamTuple second = ledger.tuple(null, BACKEND_2);
        acquireAll(ledger, List.of(first), 10);

        assertThat(ledger.headroom(second)).isEqualTo(10);
        acquireAll(ledger, List.of(second), 10);
    }

    @Test
    void withoutPerSourceCapEachTupleGetsTheFullCapacity() {
        PortLedger ledger = new PortLedger(10, false);
        InetAddress source = ip("127.0.0.2");
        UpstreamTuple toFirst = ledger.tuple(source, BACKEND_1);
        UpstreamTuple toSecond = ledger.tuple(source, BACKEND_2);

        acquireAll(ledger, List.of(toFirst), 10);
        acquireAll(ledger, List.of(toSecond), 10);

        assertThat(ledger.acquire(List.of(toFirst, toSecond))).isNull();
        assertThat(toFirst.inUse()).isEqualTo(10);
        assertThat(toSecond.inUse()).isEqualTo(10);
        assertThat(ledger.perSourceCap()).isFalse();
        assertThat(new PortLedger(10, true).perSourceCap()).isTrue();
    }

    @Test
    void tupleIsOneInstancePerSourceAndBackend() {
        PortLedger ledger = new PortLedger(10, false);
        UpstreamTuple tuple = ledger.tuple(ip("127.0.0.2"), BACKEND_1);

        assertThat(ledger.tuple(ip("127.0.0.2"), new InetSocketAddress(ip("127.0.0.1"), 9001))).isSameAs(tuple);
        assertThat(ledger.tuple(null, BACKEND_1)).isSameAs(ledger.tuple(null, BACKEND_1)).isNotSameAs(tuple);
        assertThat(ledger.tuple(ip("127.0.0.3"), BACKEND_1)).isNotSameAs(tuple);
        assertThat(ledger.tuple(ip("127.0.0.2"), BACKEND_2)).isNotSameAs(tuple);
        assertThat(ledger.tuples()).hasSize(4).contains(tuple);
    }

    @Test
    void tuplesAreSharedByEveryClusterUsingTheSamePair() {
        PortLedger ledger = new PortLedger(10, false);
        List<InetAddress> sources = List.of(ip("127.0.0.2"), ip("127.0.0.3"));
        Cluster api = Cluster.of(new ClusterConfig("api", List.of(BACKEND_1),
                BalancerKind.ROUND_ROBIN, null), sources, ledger);
        Cluster web = Cluster.of(new ClusterConfig("web", List.of(BACKEND_1, BACKEND_2),
                BalancerKind.ROUND_ROBIN, null), List.of(sources.get(1)), ledger);

        List<UpstreamTuple> apiTuples = api.backends().get(0).tuples();
        List<UpstreamTuple> webTuples = web.backends().get(0).tuples();
        assertThat(apiTuples).extracting(UpstreamTuple::source).containsExactlyElementsOf(sources);
        assertThat(webTuples).singleElement().isSameAs(apiTuples.get(1));
        assertThat(ledger.tuples()).hasSize(3);

        acquireAll(ledger, webTuples, 10);
        assertThat(ledger.acquire(apiTuples)).as("web's connections count against api's tuple too")
                .isSameAs(apiTuples.get(0));
    }

    @Test
    void clusterWithoutSourcesHasOneKernelChosenTuplePerBackend() {
        PortLedger ledger = new PortLedger(10, false);
        Cluster cluster = Cluster.of(new ClusterConfig("c", List.of(BACKEND_1, BACKEND_2),
                BalancerKind.ROUND_ROBIN, null), List.of(), ledger);

        assertThat(cluster.backends()).allSatisfy(backend -> assertThat(backend.tuples()).singleElement()
                .satisfies(tuple -> {
                    assertThat(tuple.source()).isNull();
                    assertThat(tuple.sourceLabel()).isEqualTo("auto");
                    assertThat(tuple.backend()).isEqualTo(backend.address());
                }));
        assertThat(ledger.tuple(ip("127.0.0.2"), BACKEND_2).toString()).isEqualTo("127.0.0.2→127.0.0.1:9002");
    }

    @Test
    void fullListsOnlyTheFullCandidatesInOrder() {
        PortLedger ledger = new PortLedger(2, false);
        List<UpstreamTuple> tuples = tuples(ledger, 4, BACKEND_1);
        acquireAll(ledger, List.of(tuples.get(1)), 2);
        acquireAll(ledger, List.of(tuples.get(2)), 1);
        ledger.markFull(tuples.get(2));
        acquireAll(ledger, List.of(tuples.get(3)), 2);

        assertThat(ledger.full(tuples)).containsExactly(tuples.get(1), tuples.get(2), tuples.get(3));
        assertThat(ledger.full(List.of(tuples.get(0)))).isEmpty();
    }

    @Test
    void newCapacityAppliesToEveryTuple() {
        PortLedger ledger = new PortLedger(10, false);
        List<UpstreamTuple> tuples = tuples(ledger, 2, BACKEND_1);
        acquireAll(ledger, tuples, 8);

        ledger.capacity(4);

        assertThat(ledger.capacity()).isEqualTo(4);
        assertThat(ledger.headroom(tuples.get(0))).isZero();
        assertThat(ledger.acquire(tuples)).isNull();
        assertThat(ledger.full(tuples)).containsExactlyElementsOf(tuples);

        ledger.capacity(6);

        assertThat(ledger.headroom(tuples.get(0))).isEqualTo(2);
        acquireAll(ledger, tuples, 4);
        assertThat(ledger.acquire(tuples)).isNull();
    }

    @Test
    void newCapacityAlsoBoundsTheSharedSource() {
        PortLedger ledger = new PortLedger(10, true);
        InetAddress source = ip("127.0.0.2");
        UpstreamTuple toFirst = ledger.tuple(source, BACKEND_1);
        UpstreamTuple toSecond = ledger.tuple(source, BACKEND_2);
        acquireAll(ledger, List.of(toFirst), 3);

        ledger.capacity(5);

        assertThat(ledger.headroom(toSecond)).isEqualTo(2);
    }
}
