package dev.fourtuple.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.demo.EchoBackend;
import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.TestDnsServer;
import dev.fourtuple.gateway.testing.WebSocketProbe;
import dev.fourtuple.gateway.transport.TransportKind;
import dev.fourtuple.gateway.upstream.DnsNameStatus;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Backends named by DNS, end to end: a real gateway resolving through a real DNS server on loopback, its
 * backends on 127.0.0.2, .3 and .4 (Linux routes all of 127/8 to lo). Answers that change move new requests
 * at once and leave tunnels alone; SRV weights split the load; a DNS server gone quiet changes nothing.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DnsDiscoveryIntegrationTest {
    /** What a change may take to show: the TTL (the refresh), jitter, the lookup, the swap. */
    private static final Duration WITHIN_TTL = Duration.ofMillis(TestDnsServer.TTL_SECONDS * 1000 + 2000);

    @RegisterExtension
    final Closer closer = new Closer();

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private TestDnsServer dns;

    @BeforeEach
    void startDns() throws Exception {
        dns = closer.track(TestDnsServer.start());
    }

    @Test
    void requestsFollowAChangedAnswerWithinTheTtlAndATunnelToTheOldBackendStaysOpen() throws Exception {
        EchoBackend a = backend("127.0.0.2", 0, "a");
        int port = a.address().getPort();
        EchoBackend b = backend("127.0.0.3", port, "b");
        EchoBackend c = backend("127.0.0.4", port, "c");
        dns.addresses("app.test", "127.0.0.2");
        GatewayFixture gateway = gateway("dns:app.test:" + port, "reload-grace = 1s\n");

        // Resolved before start returned: the first request already has its backend.
        assertThat(backendOf(gateway)).isEqualTo("a");
        WebSocketProbe tunnel = closer.track(WebSocketProbe.open(gateway.ws("/ws")));
        assertThat(tunnel.echo(new byte[] {1}, Duration.ofSeconds(5))).containsExactly(1);
        int version = gateway.gateway().configVersion();

        dns.addresses("app.test", "127.0.0.3", "127.0.0.4");

        await().atMost(WITHIN_TTL).pollInterval(Duration.ofMillis(50)).until(() -> !backendOf(gateway).equals("a"));
        Map<String, Integer> served = spread(gateway, 40);
        assertThat(served.keySet()).containsExactlyInAnyOrder("b", "c");
        assertThat(served.get("b")).isBetween(10, 30);
        assertThat(gateway.gateway().configVersion()).isGreaterThan(version);

        // Past the reload-grace, and then some: the tunnel to a, which DNS no longer names, is still there.
        await().pollDelay(Duration.ofMillis(2500)).atMost(Duration.ofSeconds(4)).until(() -> true);
        assertThat(tunnel.echo(new byte[] {2, 3}, Duration.ofSeconds(5))).containsExactly(2, 3);
        assertThat(a.openConnections()).isEqualTo(1);

        DnsNameStatus status = gateway.gateway().dnsStatus().get(0);
        assertThat(status.name()).isEqualTo("dns:app.test:" + port);
        assertThat(status.addresses()).containsExactly("127.0.0.3:" + port, "127.0.0.4:" + port);
        assertThat(status.ttlSeconds()).isEqualTo(TestDnsServer.TTL_SECONDS);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> shown = (List<Map<String, Object>>) StatusReport.of(gateway.gateway(), "ready")
                .get("dns");
        assertThat(shown).singleElement().satisfies(row -> {
            assertThat(row.get("addresses")).isEqualTo(List.of("127.0.0.3:" + port, "127.0.0.4:" + port));
            assertThat((Double) row.get("ageSeconds")).isBetween(0.0, 3.0);
        });
    }

    @Test
    void srvTargetsOfWeights1And3ShareTheRequestsRoughly1To3() throws Exception {
        EchoBackend light = backend("127.0.0.2", 0, "light");
        EchoBackend heavy = backend("127.0.0.3", 0, "heavy");
        dns.srv("_app._tcp.test", new TestDnsServer.Srv(10, 1, light.address().getPort(), "light.test"),
                new TestDnsServer.Srv(10, 3, heavy.address().getPort(), "heavy.test"),
                // A higher priority number is a fallback: not used while the lowest one has records.
                new TestDnsServer.Srv(20, 100, light.address().getPort(), "fallback.test"));
        dns.addresses("light.test", "127.0.0.2");
        dns.addresses("heavy.test", "127.0.0.3");
        dns.addresses("fallback.test", "127.0.0.4");
        GatewayFixture gateway = gateway("srv:_app._tcp.test", "");

        Map<String, Integer> served = spread(gateway, 200);

        assertThat(served.keySet()).containsExactlyInAnyOrder("light", "heavy");
        assertThat(served.get("heavy")).as("about 150 of 200").isBetween(120, 180);
        assertThat(gateway.gateway().backends().get("app")).hasSize(2);
    }

    @Test
    void whenTheDnsServerStopsAnsweringTheLastGoodAnswerStays() throws Exception {
        EchoBackend a = backend("127.0.0.2", 0, "a");
        dns.addresses("app.test", "127.0.0.2");
        GatewayFixture gateway = gateway("dns:app.test:" + a.address().getPort(), "", "500ms");
        assertThat(backendOf(gateway)).isEqualTo("a");

        dns.silent(true);

        await().atMost(Duration.ofSeconds(10)).until(() -> gateway.gateway().dnsStatus().get(0).failing() >= 2);
        assertThat(gateway.gateway().dnsStatus().get(0).lastError()).isEqualTo("timed out");
        assertThat(gateway.registry().get("fourtuple.dns.queries").tag("result", "error").counter().count())
                .isGreaterThanOrEqualTo(2);
        assertThat(spread(gateway, 10)).isEqualTo(Map.of("a", 10));
    }

    @Test
    void aReloadThatAddsADnsNameServesItAtOnceAndANameNoLongerUsedIsNoLongerAsked() throws Exception {
        EchoBackend a = backend("127.0.0.2", 0, "a");
        EchoBackend b = backend("127.0.0.3", 0, "b");
        dns.addresses("a.test", "127.0.0.2");
        dns.addresses("b.test", "127.0.0.3");
        GatewayFixture gateway = gateway("dns:a.test:" + a.address().getPort(), "");

        gateway.reload(gateway.configText().replace("dns:a.test:" + a.address().getPort(),
                "dns:b.test:" + b.address().getPort()));

        assertThat(backendOf(gateway)).as("resolved within the reload, before the clusters were built")
                .isEqualTo("b");
        assertThat(gateway.gateway().dnsStatus()).extracting(DnsNameStatus::name)
                .containsExactly("dns:b.test:" + b.address().getPort());
    }

    /** dns.timeout 2s: a first lookup in a cold JVM (classes loading) can take longer than 500 ms. */
    private GatewayFixture gateway(String entry, String extra) throws Exception {
        return gateway(entry, extra, "2s");
    }

    private GatewayFixture gateway(String entry, String extra, String timeout) throws Exception {
        return closer.track(GatewayFixture.start(TransportKind.EPOLL, 0, none -> extra
                + "dns { resolvers = [\"" + dns.hostPort() + "\"], max-refresh = 1s, min-refresh = 100ms,"
                + " timeout = " + timeout + " }\n"
                + "clusters { app { backends = [\"" + entry + "\"] } }\n"
                + "routes = [ { cluster = app } ]\n"));
    }

    private EchoBackend backend(String ip, int port, String name) throws Exception {
        return closer.track(EchoBackend.start(new InetSocketAddress(ip, port), name, TransportKind.EPOLL, 1));
    }

    private String backendOf(GatewayFixture gateway) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(gateway.http("/")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        return response.headers().firstValue("X-Backend").orElseThrow();
    }

    /** Which backend served each of {@code count} requests, counted by name. */
    private Map<String, Integer> spread(GatewayFixture gateway, int count) throws Exception {
        Map<String, Integer> served = new HashMap<>();
        for (int i = 0; i < count; i++) {
            served.merge(backendOf(gateway), 1, Integer::sum);
        }
        return served;
    }
}
