package dev.fourtuple.gateway.admission;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.RawHttp;
import dev.fourtuple.gateway.transport.TransportKind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The accept-rate limit smooths a burst of new connections: they wait (or are refused), none is lost.
 *
 * <p>What the bucket guarantees, and so what is asserted: it holds one second's worth at its first use and
 * gains one token per 1/rate s after that, over both listening sockets. Its first use comes after the test's
 * start, and every accept before the test has read every response, so between the two instants at most
 * {@code rate + elapsed x rate} connections can have had a token, and at least the first {@code rate}. How
 * fast this machine runs moves the measured interval, never the bounds' truth.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AcceptRateIntegrationTest {
    @RegisterExtension
    final Closer closer = new Closer();

    private static double refused(GatewayFixture fixture, String reason) {
        return fixture.registry().get("fourtuple.admission.refused").tag("reason", reason).counter().count();
    }

    private static Map<Outcome, Integer> readAll(List<RawHttp> clients) throws Exception {
        Map<Outcome, Integer> outcomes = new EnumMap<>(Outcome.class);
        for (RawHttp client : clients) {
            outcomes.merge(Outcome.read(client), 1, Integer::sum);
        }
        return outcomes;
    }

    @Test
    void aBurstOf500At100PerSecondIsAllServedAndTheLastNoSoonerThanFourSecondsIn() throws Exception {
        GatewayFixture fixture = closer.track(GatewayFixture.simple(TransportKind.EPOLL, 1,
                "admission.accept-rate = 100\nbacklog = 1024"));
        long start = System.nanoTime();
        List<RawHttp> clients = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            // The kernel completes the handshake from its accept queue; the gateway accepts at its own pace.
            clients.add(closer.track(RawHttp.connect(fixture.address(), 20_000)).send(Outcome.REQUEST));
        }
        Map<Outcome, Integer> outcomes = readAll(clients);
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertThat(outcomes).as("every connection served in full").containsExactlyEntriesOf(Map.of(Outcome.OK, 500));
        assertThat(refused(fixture, "accept-rate")).as("waiting is not refusing").isZero();
        // 100 tokens at the first accept, then one per 10 ms: the 500th exists 4 s after the first use.
        assertThat(took).isGreaterThanOrEqualTo(Duration.ofSeconds(4));
        assertThat(fixture.gateway().admission().waitingForRate()).as("none left waiting").isZero();
    }

    @Test
    void withRefuseTheExcessGets503AndTheAdmittedAreWhatTheBucketAllows() throws Exception {
        GatewayFixture fixture = closer.track(GatewayFixture.simple(TransportKind.EPOLL, 1,
                "admission { accept-rate = 50, accept-rate-excess = refuse }"));
        long start = System.nanoTime();
        List<RawHttp> clients = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            clients.add(closer.track(RawHttp.connect(fixture.address(), 10_000)).send(Outcome.REQUEST));
        }
        Map<Outcome, Integer> outcomes = readAll(clients);
        long elapsed = System.nanoTime() - start;

        int ok = outcomes.getOrDefault(Outcome.OK, 0);
        int refused = outcomes.getOrDefault(Outcome.REFUSED, 0);
        assertThat(ok + refused).as("each a complete 200 or a 503 with Retry-After").isEqualTo(200);
        assertThat(refused(fixture, "accept-rate")).as("the gateway's count of the 503s").isEqualTo(refused);
        assertThat(ok).isBetween(50, 50 + (int) (elapsed / TimeUnit.MILLISECONDS.toNanos(20)));
        assertThat(fixture.gateway().admission().waitingForRate()).as("refusing holds none back").isZero();
    }
}
