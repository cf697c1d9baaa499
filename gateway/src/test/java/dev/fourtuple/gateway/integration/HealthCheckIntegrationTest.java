package dev.fourtuple.gateway.integration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.demo.EchoBackend;
import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.RecordingBackend;
import dev.fourtuple.gateway.testing.TestCa;
import dev.fourtuple.gateway.testing.TestTls;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.ReferenceCountUtil;
import dev.fourtuple.gateway.transport.TransportKind;
import dev.fourtuple.gateway.upstream.Backend;
import io.micrometer.core.instrument.Counter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Active health checks against real backends: a killed backend leaves the balancer within fall × interval and
 * rejoins within rise × interval once it is back; an http check's expect range; a tcp check of a port that
 * refuses; a reload keeps the checks' verdicts.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HealthCheckIntegrationTest {
    private static final TransportKind TRANSPORT = TransportKind.EPOLL;
    private static final long INTERVAL_MS = 200;
    /** fall (or rise) × interval × (1 + jitter 10%), plus the last check's timeout, plus scheduling slack. */
    private static final Duration VERDICT_WITHIN = Duration.ofMillis(2 * INTERVAL_MS * 11 / 10 + 150 + 600);

    @RegisterExtension
    final Closer closer = new Closer();
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private static String check(String type, String expect) {
        return "health-check { type = " + type + ", path = \"/healthz\", expect = \"" + expect + "\", interval = "
                + INTERVAL_MS + "ms, timeout = 150ms, fall = 2, rise = 2 }";
    }

    @Test
    void aKilledBackendGetsNoRequestWithinFallIntervalsAndRejoinsWithinRiseIntervalsOnceBack() throws Exception {
        List<EchoBackend> backends = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            backends.add(closer.track(EchoBackend.start(new InetSocketAddress("127.0.0.1", 0), "b" + i, TRANSPORT, 1)));
        }
        // Passive ejection off: only the active check may take the dead backend out.
        GatewayFixture fixture = closer.track(GatewayFixture.start(TRANSPORT, 0, none -> "clusters { echo {\n"
                + "  backends = " + GatewayFixture.backendList(backends) + "\n"
                + "  " + check("http", "200-399") + "\n"
                + "  outlier-detection.consecutive-failures = off\n"
                + "} }\nroutes = [ { cluster = echo } ]\n"));
        assertThat(tally(fixture, 30)).containsOnlyKeys("b0", "b1", "b2");
        InetSocketAddress deadAddress = backends.get(1).address();
        Backend dead = backend(fixture, deadAddress);

        backends.get(1).close();
        long killed = System.nanoTime();
        await().atMost(VERDICT_WITHIN).pollInterval(Duration.ofMillis(10)).until(() -> !dead.up());
        System.out.printf("down after %d ms (fall 2 x interval %d ms); last check: %s%n",
                (System.nanoTime() - killed) / 1_000_000, INTERVAL_MS, dead.lastCheck());

        Counter connectFailures = fixture.registry().get("fourtuple.upstream.connect.failures").counter();
        double failuresBefore = connectFailures.count();
        Map<String, Integer> after = tally(fixture, 200); // throws on any error
        assertThat(after).containsOnlyKeys("b0", "b2");
        assertThat(after.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(200);
        // Not one of the 200 even tried the dead backend: no connect failed.
        assertThat(connectFailures.count()).isEqualTo(failuresBefore);
        assertThat(fixture.registry().get("fourtuple.upstream.backend.up").tag("backend", "127.0.0.1:"
                + deadAddress.getPort()).gauge().value()).isZero();

        EchoBackend revived = closer.track(EchoBackend.start(deadAddress, "b1", TRANSPORT, 1));
        long restarted = System.nanoTime();
        await().atMost(VERDICT_WITHIN).pollInterval(Duration.ofMillis(10)).until(dead::up);
        System.out.printf("up again after %d ms (rise 2 x interval %d ms)%n",
                (System.nanoTime() - restarted) / 1_000_000, INTERVAL_MS);
        assertThat(tally(fixture, 30)).containsOnlyKeys("b0", "b1", "b2");
        assertThat(revived.acceptedConnections()).isPositive();
        assertThat(fixture.registry().get("fourtuple.upstream.health.checks").tag("result", "fail")
                .tag("backend", "127.0.0.1:" + deadAddress.getPort()).counter().count()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void aBackendOutsideTheExpectedRangeIsDownAndAReloadKeepsTheVerdicts() throws Exception {
        RecordingBackend ok = closer.track(RecordingBackend.start(health(200)));
        RecordingBackend redirect = closer.track(RecordingBackend.start(health(302)));
        RecordingBackend unavailable = closer.track(RecordingBackend.start(health(503)));
        String backends = "[\"" + ok.hostPort() + "\", \"" + redirect.hostPort() + "\", \"" + unavailable.hostPort()
                + "\"]";
        GatewayFixture fixture = closer.track(GatewayFixture.start(TRANSPORT, 0, none -> config(backends,
                check("http", "200-399"))));
        Backend b200 = backend(fixture, ok.address());
        Backend b302 = backend(fixture, redirect.address());
        Backend b503 = backend(fixture, unavailable.address());

        await().atMost(VERDICT_WITHIN).until(() -> !b503.up());
        assertThat(b503.lastCheck()).startsWith("503 in ").endsWith("(expected 200-399)");
        // several more checks later, the other two are still up: within the range
        await().atMost(VERDICT_WITHIN).until(() -> b302.lastCheck().startsWith("302"));
        Thread.sleep(3 * INTERVAL_MS);
        assertThat(b200.up()).isTrue();
        assertThat(b302.up()).isTrue();
        for (int i = 0; i < 30; i++) {
            assertThat(get(fixture, "/page").statusCode()).isEqualTo(200);
        }
        assertThat(unavailable.requests()).allMatch(r -> r.target().equals("/healthz"));
        assertThat(unavailable.requests()).allMatch(r -> "fourtuple-health".equals(r.header("User-Agent"))
                && "close".equals(r.header("Connection")) && unavailable.hostPort().equals(r.header("Host")));

        // expect = 200 only: the 302 goes down too; the 503 stays down (a reload resets no verdict)
        fixture.reload(fixture.configText().replace("200-399", "200"));
        assertThat(b503.up()).isFalse();
        Backend reloaded302 = backend(fixture, redirect.address());
        await().atMost(VERDICT_WITHIN).until(() -> !reloaded302.up());
        assertThat(backend(fixture, ok.address()).up()).isTrue();
        assertThat(backend(fixture, unavailable.address()).up()).isFalse();

        // checks off: nothing would ever mark them up again, so they count as up at once
        fixture.reload(fixture.configText().replace(check("http", "200-399"), "health-check.type = off"));
        await().atMost(Duration.ofSeconds(2)).until(() -> backend(fixture, unavailable.address()).up()
                && backend(fixture, redirect.address()).up());
    }

    @Test
    void aTcpCheckMarksAPortThatRefusesDown() throws Exception {
        EchoBackend alive = closer.track(EchoBackend.start(new InetSocketAddress("127.0.0.1", 0), "alive", TRANSPORT,
                1));
        int refusing;
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            refusing = socket.getLocalPort(); // closed again: connects to it are refused
        }
        String backends = "[\"127.0.0.1:" + alive.address().getPort() + "\", \"127.0.0.1:" + refusing + "\"]";
        GatewayFixture fixture = closer.track(GatewayFixture.start(TRANSPORT, 0, none -> config(backends,
                check("tcp", "200-399") + "\n  outlier-detection.consecutive-failures = off")));
        Backend refused = backend(fixture, new InetSocketAddress("127.0.0.1", refusing));
        Backend up = backend(fixture, alive.address());

        await().atMost(VERDICT_WITHIN).until(() -> !refused.up());
        assertThat(refused.lastCheck()).isEqualTo("connect refused");
        await().atMost(VERDICT_WITHIN).until(() -> up.lastCheck().startsWith("connected in"));
        assertThat(up.up()).isTrue();
        double failuresBefore = fixture.registry().get("fourtuple.upstream.connect.failures").counter().count();
        assertThat(tally(fixture, 20)).containsOnlyKeys("alive");
        assertThat(fixture.registry().get("fourtuple.upstream.connect.failures").counter().count())
                .isEqualTo(failuresBefore);
    }

    @Test
    void anHttpCheckOfATlsClusterSpeaksTlsAndAPlaintextBackendThereFailsIt() throws Exception {
        TestCa.Issued certificate = TestTls.localhost();
        SslContext serverTls = SslContextBuilder.forServer(certificate.cert().toFile(), certificate.key().toFile())
                .build();
        closer.track(() -> ReferenceCountUtil.release(serverTls));
        EchoBackend secure = closer.track(EchoBackend.start(new InetSocketAddress("127.0.0.1", 0), "secure",
                TRANSPORT, 1, serverTls));
        EchoBackend plain = closer.track(EchoBackend.start(new InetSocketAddress("127.0.0.1", 0), "plain",
                TRANSPORT, 1));
        String backends = "[\"127.0.0.1:" + secure.address().getPort() + "\", \"127.0.0.1:" + plain.address().getPort()
                + "\"]";
        GatewayFixture fixture = closer.track(GatewayFixture.start(TRANSPORT, 0, none -> config(backends,
                check("http", "200-399") + "\n  tls { enabled = true, verify = false }")));
        Backend tls = backend(fixture, secure.address());
        Backend cleartext = backend(fixture, plain.address());

        await().atMost(VERDICT_WITHIN).until(() -> !cleartext.up());
        // The first TLS handshakes of a cold JVM on a busy machine can outlast the 150 ms timeout and mark it
        // down; then rise passes bring it back. Either way it must end up and checked over TLS.
        await().atMost(Duration.ofSeconds(5)).until(() -> tls.up() && tls.lastCheck().startsWith("200 in"));
        System.out.println("plaintext backend in a TLS cluster: " + cleartext.lastCheck());
        assertThat(tally(fixture, 10)).containsOnlyKeys("secure");
    }

    private static String config(String backends, String healthCheck) {
        return "clusters { app {\n  backends = " + backends + "\n  " + healthCheck + "\n} }\n"
                + "routes = [ { cluster = app } ]\n";
    }

    /** /healthz answered with {@code status}, anything else echoed. */
    private static RecordingBackend.Responder health(int status) {
        return (request, connection) -> request.target().equals("/healthz")
                ? ("HTTP/1.1 " + status + " Health\r\nContent-Length: 0\r\n\r\n").getBytes(StandardCharsets.US_ASCII)
                : RecordingBackend.echo(request, connection);
    }

    private static Backend backend(GatewayFixture fixture, InetSocketAddress address) {
        return fixture.gateway().backends().values().stream().flatMap(List::stream)
                .filter(b -> b.address().equals(address)).findFirst().orElseThrow();
    }

    private HttpResponse<String> get(GatewayFixture fixture, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(fixture.http(path)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** {@code count} requests; how many each backend answered (by X-Backend). Fails on any non-200. */
    private Map<String, Integer> tally(GatewayFixture fixture, int count) throws Exception {
        Map<String, Integer> byBackend = new HashMap<>();
        for (int i = 0; i < count; i++) {
            HttpResponse<String> response = get(fixture, "/who?i=" + i);
            assertThat(response.statusCode()).as("request %d: %s", i, response.body()).isEqualTo(200);
            byBackend.merge(response.headers().firstValue("X-Backend").orElse("?"), 1, Integer::sum);
        }
        return byBackend;
    }
}
