package dev.fourtuple.gateway.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.Gateway;
import dev.fourtuple.gateway.config.ConfigLoader;
import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.RawHttp;
import dev.fourtuple.gateway.transport.TransportKind;
import java.io.IOException;
import java.net.InetAddress;
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
 * Per-client limits through real sockets: clients bind their own source address in 127.0.0.0/8 (all of it
 * is local on Linux), so each address is one client to the gateway. The gateway's own meters say what it
 * decided at accept; each client's bytes say what it got.
 *
 * <p>Clients that must stay open while others connect send nothing at first; {@code header-timeout} is a
 * minute so that the gateway does not close them meanwhile. The test JVM holds both ends of every connection:
 * the largest test opens about 2,000 fds, far below this JVM's limit.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PerClientLimitsIntegrationTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final int READ_TIMEOUT_MS = 20_000;

    @RegisterExtension
    final Closer closer = new Closer();

    private GatewayFixture start(String extra) throws Exception {
        return closer.track(GatewayFixture.simple(TransportKind.EPOLL, 1, "header-timeout = 1m\n" + extra));
    }

    private RawHttp connect(GatewayFixture fixture, String source) throws IOException {
        return closer.track(RawHttp.connect(fixture.address(), InetAddress.getByName(source), READ_TIMEOUT_MS));
    }

    private static double refused(GatewayFixture fixture, Resource reason) {
        return fixture.registry().get("fourtuple.admission.refused").tag("reason", reason.tag()).counter().count();
    }

    private static double gauge(GatewayFixture fixture, String name) {
        return fixture.registry().get(name).gauge().value();
    }

    private static long admitted(GatewayFixture fixture) {
        return fixture.gateway().admission().admittedConnections();
    }

    private static Map<Outcome, Integer> askAll(List<RawHttp> clients) throws IOException {
        Map<Outcome, Integer> outcomes = new EnumMap<>(Outcome.class);
        for (RawHttp client : clients) {
            outcomes.merge(Outcome.ask(client), 1, Integer::sum);
        }
        return outcomes;
    }

    @Test
    void ofThreeHundredConnectionsFromOneAddressExactlyMaxConnectionsAreAdmitted() throws Exception {
        GatewayFixture fixture = start("admission.per-client.max-connections = 100");
        List<RawHttp> clients = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            clients.add(connect(fixture, "127.0.0.2"));
        }
        await().atMost(WAIT).until(() -> refused(fixture, Resource.PER_CLIENT_CONNECTIONS) == 200);
        assertThat(admitted(fixture)).isEqualTo(100);
        assertThat(gauge(fixture, "fourtuple.admission.client.table.live")).isEqualTo(1);

        RawHttp other = connect(fixture, "127.0.0.3");
        assertThat(Outcome.ask(other)).as("another address is another client").isEqualTo(Outcome.OK);

        assertThat(askAll(clients)).containsExactlyInAnyOrderEntriesOf(Map.of(Outcome.OK, 100, Outcome.REFUSED, 200));
        assertThat(refused(fixture, Resource.PER_CLIENT_CONNECTIONS)).as("refused at accept, none later").isEqualTo(200);
        assertThat(fixture.gateway().admission().shedding()).as("one greedy client is no overload").isFalse();
    }

    @Test
    void connectRateAdmitsABurstThenWhatItsBucketRefillsAndEveryClientHasItsOwnBucket() throws Exception {
        GatewayFixture fixture = start("admission.per-client.connect-rate = 20"); // a token every 50 ms
        long start = System.nanoTime();
        List<RawHttp> clients = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            clients.add(connect(fixture, "127.0.0.2").send(Outcome.REQUEST));
        }
        Map<Outcome, Integer> outcomes = new EnumMap<>(Outcome.class);
        for (RawHttp client : clients) {
            outcomes.merge(Outcome.read(client), 1, Integer::sum);
        }
        long elapsed = System.nanoTime() - start; // every accept happened before its response was read

        int ok = outcomes.getOrDefault(Outcome.OK, 0);
        int refusedByRate = outcomes.getOrDefault(Outcome.REFUSED, 0);
        assertThat(ok + refusedByRate).isEqualTo(100);
        assertThat(refused(fixture, Resource.PER_CLIENT_RATE)).isEqualTo(refusedByRate);
        // The bucket starts full (20) and gains one per 50 ms from its first use, which came after start.
        assertThat(ok).isBetween(20, 20 + (int) (elapsed / TimeUnit.MILLISECONDS.toNanos(50)));

        List<RawHttp> others = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            others.add(connect(fixture, "127.0.0.3"));
        }
        assertThat(askAll(others)).as("a full bucket of its own: all 20 at once")
                .containsExactlyEntriesOf(Map.of(Outcome.OK, 20));
    }

    @Test
    void aTableFullOfClientsWithConnectionsOpenRefusesNewAddressesUntilTheyClose() throws Exception {
        GatewayFixture fixture = start("admission.per-client { max-connections = 10, table-size = 1000 }");
        List<RawHttp> clients = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            clients.add(connect(fixture, "127.1." + i / 250 + "." + (i % 250 + 1)));
        }
        await().atMost(WAIT).until(() -> gauge(fixture, "fourtuple.admission.client.table.live") == 1000);
        assertThat(admitted(fixture)).isEqualTo(1000);
        assertThat(gauge(fixture, "fourtuple.admission.client.table.size")).isEqualTo(1000);
        assertThat(gauge(fixture, "fourtuple.admission.client.table.capacity")).isEqualTo(1000);

        assertThat(Outcome.ask(connect(fixture, "127.2.0.1"))).as("a new address").isEqualTo(Outcome.REFUSED);
        assertThat(refused(fixture, Resource.PER_CLIENT_TABLE_FULL)).isEqualTo(1);
        assertThat(Outcome.ask(connect(fixture, "127.1.0.1"))).as("an address in the table").isEqualTo(Outcome.OK);

        for (RawHttp client : clients) {
            client.close();
        }
        await().atMost(WAIT).until(() -> gauge(fixture, "fourtuple.admission.client.table.live") == 0);

        assertThat(Outcome.ask(connect(fixture, "127.2.0.1"))).as("it takes the entry idle longest")
                .isEqualTo(Outcome.OK);
        assertThat(Outcome.ask(connect(fixture, "127.2.0.2"))).isEqualTo(Outcome.OK);
        assertThat(gauge(fixture, "fourtuple.admission.client.table.size")).isEqualTo(1000);
        assertThat(refused(fixture, Resource.PER_CLIENT_TABLE_FULL)).isEqualTo(1);
    }

    @Test
    void aReloadAppliesNewLimitsAndNamesTheSettingsThatNeedARestart() throws Exception {
        GatewayFixture fixture = start("admission.per-client.max-connections = 2");
        RawHttp first = connect(fixture, "127.0.0.2");
        RawHttp second = connect(fixture, "127.0.0.2");
        await().atMost(WAIT).until(() -> admitted(fixture) == 2);
        assertThat(Outcome.ask(connect(fixture, "127.0.0.2"))).isEqualTo(Outcome.REFUSED);

        Gateway.Reload reload = fixture.gateway().reload(ConfigLoader.parse("listen = \"127.0.0.1:0\"\n"
                + "transport = epoll\nevent-loops = 2\nheader-timeout = 1m\n"
                + "admission.per-client { max-connections = 3, table-size = 1000, ipv6-prefix = 48 }\n"
                + "clusters { echo { backends = " + GatewayFixture.backendList(List.of(fixture.backend(0)))
                + " } }\nroutes = [ { path-prefix = \"/\", cluster = echo } ]\n", "reload"));

        assertThat(reload.needRestart())
                .containsExactly("admission.per-client.table-size", "admission.per-client.ipv6-prefix");
        assertThat(gauge(fixture, "fourtuple.admission.client.table.capacity")).isEqualTo(65_536);
        assertThat(Outcome.ask(connect(fixture, "127.0.0.2"))).as("the 3rd is allowed now").isEqualTo(Outcome.OK);
        assertThat(Outcome.ask(first)).as("open connections were kept").isEqualTo(Outcome.OK);
        assertThat(Outcome.ask(second)).isEqualTo(Outcome.OK);
    }
}
