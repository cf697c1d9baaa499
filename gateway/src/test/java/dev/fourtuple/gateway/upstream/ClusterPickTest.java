package dev.fourtuple.gateway.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fourtuple.gateway.config.BackendConfig;
import dev.fourtuple.gateway.config.BalancerKind;
import dev.fourtuple.gateway.config.ClusterConfig;
import dev.fourtuple.gateway.config.DownPolicy;
import dev.fourtuple.gateway.config.HashKey;
import dev.fourtuple.gateway.config.OutlierSettings;
import dev.fourtuple.gateway.config.SendProxyProtocol;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Which backend a cluster picks: weights, session hashing, sticky ids, health (ejection arithmetic: ClusterEjectionTest). */
class ClusterPickTest {
    private static final long NOW = 1_000_000_000L;

    private static BackendConfig backend(String name, int port, int weight) {
        return new BackendConfig(name, weight, new InetSocketAddress("127.0.0.1", port), null);
    }

    private static Cluster cluster(BalancerKind balancer, OutlierSettings outlier, BackendConfig... backends) {
        return cluster(balancer, outlier, new BackendState.Registry(), backends);
    }

    private static Cluster cluster(BalancerKind balancer, OutlierSettings outlier, BackendState.Registry states,
            BackendConfig... backends) {
        HashKey key = balancer == BalancerKind.HASH ? new HashKey(HashKey.Source.HEADER, "x-session") : null;
        ClusterConfig config = new ClusterConfig("app", List.of(backends), balancer, key, "ft_b", null, null, null,
                outlier, DownPolicy.KEEP, SendProxyProtocol.OFF);
        return Cluster.of(config, List.of(), new PortLedger(100, false), states, null, Discovered.NONE);
    }

    private static Backend keyed(Cluster cluster, String key) {
        return cluster.pick(Set.of(), null, true, SessionKeys.hash(key), NOW);
    }

    @Test
    void weightedRoundRobinGivesEachItsShareInterleaved() {
        Cluster cluster = cluster(BalancerKind.ROUND_ROBIN, OutlierSettings.DEFAULT,
                backend("a", 9001, 5), backend("b", 9002, 1), backend("c", 9003, 1));

        List<String> picked = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            picked.add(cluster.pick(Set.of()).name());
        }

        // nginx's smooth weighted round robin for 5, 1, 1.
        assertThat(picked).containsExactly("a", "a", "b", "a", "c", "a", "a");
    }

    @Test
    void weightedLeastConnectionsCountsActivePerUnitOfWeight() {
        Cluster cluster = cluster(BalancerKind.LEAST_CONNECTIONS, OutlierSettings.DEFAULT,
                backend("a", 9001, 1), backend("b", 9002, 3));
        Backend a = cluster.backend("a");
        Backend b = cluster.backend("b");
        a.started(); // 1 per unit of weight
        b.started();
        b.started(); // 2/3 per unit of weight: lighter

        for (int i = 0; i < 50; i++) {
            assertThat(cluster.pick(Set.of())).isSameAs(b);
        }
        b.started(); // 3/3 = 1: a tie; a fourth makes a lighter
        b.started();
        assertThat(cluster.pick(Set.of())).isSameAs(a);
    }

    @Test
    void aKeyAlwaysReachesOneBackendAndRemovingABackendMovesOnlyItsKeys() {
        BackendState.Registry states = new BackendState.Registry();
        Cluster three = cluster(BalancerKind.HASH, OutlierSettings.DEFAULT, states,
                backend("a", 9001, 1), backend("b", 9002, 1), backend("c", 9003, 1));
        Cluster two = cluster(BalancerKind.HASH, OutlierSettings.DEFAULT, states,
                backend("a", 9001, 1), backend("b", 9002, 1));

        Map<String, Integer> perBackend = new HashMap<>();
        int moved = 0;
        for (int i = 0; i < 3_000; i++) {
            String key = "session-" + i;
            Backend before = keyed(three, key);
            assertThat(keyed(three, key)).isSameAs(before);
            perBackend.merge(before.name(), 1, Integer::sum);
            Backend after = keyed(two, key);
            if (!before.name().equals("c")) {
                assertThat(after.name()).as(key).isEqualTo(before.name());
            } else {
                moved++;
            }
        }
        assertThat(perBackend).containsOnlyKeys("a", "b", "c");
        assertThat(perBackend.values()).allSatisfy(n -> assertThat(n).isBetween(850, 1150));
        assertThat(moved).isEqualTo(perBackend.get("c"));
    }

    @Test
    void hashingHonoursWeights() {
        Cluster cluster = cluster(BalancerKind.HASH, OutlierSettings.DEFAULT,
                backend("a", 9001, 1), backend("b", 9002, 3));
        int onB = 0;
        for (int i = 0; i < 4_000; i++) {
            if (keyed(cluster, "k" + i).name().equals("b")) {
                onB++;
            }
        }
        assertThat(onB).isBetween(2_800, 3_200); // 3/4 expected
    }

    @Test
    void aKeyWhoseBackendIsDownGoesToItsNextChoiceAndComesBack() {
        Cluster cluster = cluster(BalancerKind.HASH, OutlierSettings.DEFAULT,
                backend("a", 9001, 1), backend("b", 9002, 1), backend("c", 9003, 1));
        Backend own = keyed(cluster, "user-42");
        own.state().up(false);

        Backend fallback = keyed(cluster, "user-42");
        assertThat(fallback).isNotSameAs(own);
        assertThat(keyed(cluster, "user-42")).isSameAs(fallback);

        own.state().up(true);
        assertThat(keyed(cluster, "user-42")).isSameAs(own);
    }

    @Test
    void downBackendsGetNothingUntilAllAreDownThenTheClusterServesAnyway() {
        Cluster cluster = cluster(BalancerKind.ROUND_ROBIN, OutlierSettings.DEFAULT,
                backend("a", 9001, 1), backend("b", 9002, 1));
        Backend a = cluster.backend("a");
        Backend b = cluster.backend("b");
        a.state().up(false);
        for (int i = 0; i < 10; i++) {
            assertThat(cluster.pick(Set.of())).isSameAs(b);
        }
        b.state().up(false);
        assertThat(cluster.pick(Set.of())).isIn(a, b); // panic: better a try than a certain 502
        assertThat(cluster.pick(Set.of(a))).isSameAs(b);
    }

    @Test
    void stickyIdsAreOpaqueStableAndNameTheirBackend() {
        Cluster cluster = cluster(BalancerKind.ROUND_ROBIN, OutlierSettings.DEFAULT,
                backend("a", 9001, 1), backend("b", 9002, 1));
        Cluster rebuilt = cluster(BalancerKind.ROUND_ROBIN, OutlierSettings.DEFAULT,
                backend("b", 9002, 1), backend("a", 9001, 1));
        Backend b = cluster.backend("b");

        String id = cluster.stickyId(b);
        assertThat(id).matches("[0-9a-f]{16}").doesNotContain("9002").doesNotContain("127");
        assertThat(cluster.bySticky(id)).isSameAs(b);
        assertThat(rebuilt.bySticky(id).name()).isEqualTo("b");
        assertThat(cluster.bySticky("0123456789abcdef")).isNull();
        assertThat(cluster.pick(Set.of(), b, false, 0, NOW)).isSameAs(b);
        b.state().up(false);
        assertThat(cluster.pick(Set.of(), b, false, 0, NOW)).isSameAs(cluster.backend("a"));
    }

    @Test
    void outlierDetectionOffNeverEjects() {
        Cluster cluster = cluster(BalancerKind.ROUND_ROBIN, new OutlierSettings(0, Duration.ofSeconds(1),
                Duration.ofSeconds(1), 1.0), backend("a", 9001, 1), backend("b", 9002, 1));
        for (int i = 0; i < 100; i++) {
            assertThat(cluster.failed(cluster.backend("a"), NOW)).isFalse();
        }
    }

    @Test
    void sessionKeysAreReadFromCookiesHeadersAndQueries() {
        HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET,
                "/socket.io/?EIO=4&transport=polling&sid=abc123&t=1#frag");
        request.headers().add("Cookie", "theme=dark;  io=sess-1; other=x");
        request.headers().add("Cookie", "io=second");
        request.headers().add("X-Session", "h-7");

        assertThat(SessionKeys.cookie(request, "io")).isEqualTo("sess-1");
        assertThat(SessionKeys.cookie(request, "i")).isNull();
        assertThat(SessionKeys.cookie(request, "missing")).isNull();
        assertThat(SessionKeys.query(request.uri(), "sid")).isEqualTo("abc123");
        assertThat(SessionKeys.query(request.uri(), "id")).isNull();
        assertThat(SessionKeys.query("/x?a=1&sid=", "sid")).isNull();
        assertThat(SessionKeys.query("/x", "sid")).isNull();
        assertThat(SessionKeys.find(new HashKey(HashKey.Source.HEADER, "x-session"), request, null)).isEqualTo("h-7");
        assertThat(SessionKeys.find(new HashKey(HashKey.Source.CLIENT_IP, ""), request,
                new InetSocketAddress("127.0.0.77", 1).getAddress())).isEqualTo("127.0.0.77");
        assertThat(SessionKeys.hash("sess-1")).isEqualTo(SessionKeys.hash("sess-1")).isNotEqualTo(SessionKeys.hash("sess-2"));
    }
}
