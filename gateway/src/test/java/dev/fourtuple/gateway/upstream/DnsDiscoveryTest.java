package dev.fourtuple.gateway.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.config.BackendConfig.DnsName;
import dev.fourtuple.gateway.config.DnsSettings;
import dev.fourtuple.gateway.testing.TestDnsServer;
import dev.fourtuple.gateway.transport.EventLoops;
import dev.fourtuple.gateway.transport.TransportKind;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** DNS discovery against a real DNS server on loopback: answers, SRV, the last good answer, stopping names. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DnsDiscoveryTest {
    private static final DnsName APP = new DnsName(false, "app.test", 8000);
    private static final DnsName SRV = new DnsName(true, "_app._tcp.test", 0);

    private TestDnsServer server;
    private EventLoops loops;
    private DnsDiscovery discovery;
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final AtomicInteger changes = new AtomicInteger();

    @BeforeEach
    void start() throws Exception {
        server = TestDnsServer.start();
    }

    @AfterEach
    void stop() {
        if (discovery != null) {
            discovery.close();
        }
        if (loops != null) {
            loops.shutdown(Duration.ofSeconds(5));
        }
        server.close();
    }

    private DnsSettings settings() {
        return new DnsSettings(List.of(server.address()), Duration.ofSeconds(1), Duration.ofMillis(100),
                Duration.ofMillis(500));
    }

    private void discover(TransportKind transport) {
        loops = EventLoops.start(transport, 1, "dns-test");
        discovery = DnsDiscovery.start(loops.loops().get(0), transport, registry);
        discovery.onChange(changes::incrementAndGet);
    }

    /** The datagram channel of each transport carries the queries, and the first answer is there on return. */
    @ParameterizedTest
    @EnumSource(TransportKind.class)
    void resolvesAAndAaaaOverEveryTransport(TransportKind transport) {
        server.addresses("app.test", "127.0.0.2", "127.0.0.3", "::1");
        discover(transport);

        discovery.track(Set.of(APP), settings());

        assertThat(discovery.snapshot().of(APP)).containsExactly(address("127.0.0.2", 8000, 1),
                address("127.0.0.3", 8000, 1), address("::1", 8000, 1));
        assertThat(registry.get("fourtuple.dns.queries").tag("result", "ok").counter().count()).isEqualTo(1);
        assertThat(registry.get("fourtuple.dns.addresses").tag("name", "dns:app.test:8000").gauge().value())
                .isEqualTo(3);
    }

    @Test
    void srvUsesTheLowestPriorityWithProportionalWeightsAndTheRecordsPorts() {
        server.srv("_app._tcp.test", new TestDnsServer.Srv(10, 1, 9001, "a.test"),
                new TestDnsServer.Srv(10, 3, 9002, "b.test"), new TestDnsServer.Srv(20, 50, 9003, "c.test"));
        server.addresses("a.test", "127.0.0.2");
        server.addresses("b.test", "127.0.0.3");
        server.addresses("c.test", "127.0.0.4");
        discover(TransportKind.EPOLL);

        discovery.track(Set.of(SRV), settings());

        assertThat(discovery.snapshot().of(SRV)).containsExactly(address("127.0.0.2", 9001, 85),
                address("127.0.0.3", 9002, 256));
    }

    @Test
    void aChangedAnswerIsPickedUpWithinItsTtlAndReported() {
        server.addresses("app.test", "127.0.0.2");
        discover(TransportKind.EPOLL);
        discovery.track(Set.of(APP), settings());
        await().atMost(Duration.ofSeconds(5)).until(() -> changes.get() >= 1);
        int before = changes.get();

        server.addresses("app.test", "127.0.0.3", "127.0.0.4");

        await().atMost(Duration.ofMillis(TestDnsServer.TTL_SECONDS * 1000 + 1500)).until(() ->
                discovery.snapshot().of(APP).size() == 2);
        assertThat(discovery.snapshot().of(APP)).containsExactly(address("127.0.0.3", 8000, 1),
                address("127.0.0.4", 8000, 1));
        await().atMost(Duration.ofSeconds(2)).until(() -> changes.get() > before);
    }

    @Test
    void nxdomainAndSilenceKeepTheLastGoodAnswerAndSayWhy() {
        server.addresses("app.test", "127.0.0.2");
        discover(TransportKind.EPOLL);
        discovery.track(Set.of(APP), settings());
        assertThat(discovery.snapshot().of(APP)).hasSize(1);

        server.remove("app.test");
        await().atMost(Duration.ofSeconds(5)).until(() -> "NXDOMAIN".equals(discovery.status().get(0).lastError()));
        assertThat(discovery.snapshot().of(APP)).containsExactly(address("127.0.0.2", 8000, 1));

        server.addresses("app.test", "127.0.0.5");
        server.silent(true);
        await().atMost(Duration.ofSeconds(5)).until(() -> "timed out".equals(discovery.status().get(0).lastError()));
        assertThat(discovery.snapshot().of(APP)).containsExactly(address("127.0.0.2", 8000, 1));
        assertThat(registry.get("fourtuple.dns.queries").tag("result", "error").counter().count()).isGreaterThan(1);

        server.silent(false);
        await().atMost(Duration.ofSeconds(5)).until(() -> discovery.snapshot().of(APP)
                .equals(List.of(address("127.0.0.5", 8000, 1))));
        assertThat(discovery.status().get(0).failing()).isZero();
    }

    @Test
    void aNameNoLongerTrackedIsNoLongerAsked() {
        server.addresses("app.test", "127.0.0.2");
        discover(TransportKind.EPOLL);
        discovery.track(Set.of(APP), settings());

        discovery.track(Set.of(), settings());
        int asked = server.queries();

        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).until(() -> server.queries() == asked);
        assertThat(discovery.status()).isEmpty();
        assertThat(discovery.snapshot().of(APP)).isEmpty();
        assertThat(registry.find("fourtuple.dns.addresses").gauges()).isEmpty();
    }

    @Test
    void aNameWithNoAnswerYetHasNoAddressesAndItsStatusSaysWhy() {
        discover(TransportKind.EPOLL);

        discovery.track(Set.of(APP), settings());

        assertThat(discovery.snapshot().of(APP)).isEmpty();
        DnsNameStatus status = discovery.status().get(0);
        assertThat(status.name()).isEqualTo("dns:app.test:8000");
        assertThat(status.lastError()).isEqualTo("NXDOMAIN");
        assertThat(status.ttlSeconds()).isEqualTo(-1);
    }

    private static Discovered.Address address(String ip, int port, int weight) {
        return new Discovered.Address(new InetSocketAddress(ip, port), weight);
    }
}
