package dev.fourtuple.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.fourtuple.gateway.demo.EchoBackend;
import dev.fourtuple.gateway.testing.Blackhole;
import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.transport.TransportKind;
import dev.fourtuple.gateway.upstream.Backend;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Passive outlier ejection without any active check: a blackholed backend (connects neither complete nor are
 * refused) is ejected after consecutive-failures connect timeouts, after which no request pays a connect
 * timeout for it; max-ejection keeps a second blackholed backend in; /status shows the ejection.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HealthEjectionIntegrationTest {
    private static final TransportKind TRANSPORT = TransportKind.EPOLL;
    private static final long CONNECT_TIMEOUT_MS = 300;

    @RegisterExtension
    final Closer closer = new Closer();
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private GatewayFixture gateway(List<String> backends) throws Exception {
        return closer.track(GatewayFixture.start(TRANSPORT, 0, none -> "connect-timeout = " + CONNECT_TIMEOUT_MS
                + "ms\nclusters { app {\n"
                + "  backends = [\"" + String.join("\", \"", backends) + "\"]\n"
                + "  outlier-detection { consecutive-failures = 3, base-ejection = 30s, max-ejection = 50% }\n"
                + "} }\nroutes = [ { cluster = app } ]\n"));
    }

    private EchoBackend echo(String name) throws Exception {
        return closer.track(EchoBackend.start(new InetSocketAddress("127.0.0.1", 0), name, TRANSPORT, 1));
    }

    private static String hostPort(EchoBackend backend) {
        return "127.0.0.1:" + backend.address().getPort();
    }

    private static Backend backend(GatewayFixture fixture, InetSocketAddress address) {
        return fixture.gateway().backends().get("app").stream().filter(b -> b.address().equals(address))
                .findFirst().orElseThrow();
    }

    /** One request; its latency in ms. Fails on anything but a 200. */
    private long timedRequest(GatewayFixture fixture, int i) throws Exception {
        long start = System.nanoTime();
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(fixture.http("/who?i=" + i))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(response.statusCode()).as("request %d: %s", i, response.body()).isEqualTo(200);
        return millis;
    }

    @Test
    void aBlackholedBackendIsEjectedAndLaterRequestsPayNoConnectTimeout() throws Exception {
        Blackhole hole = closer.track(Blackhole.start());
        GatewayFixture fixture = gateway(List.of(hostPort(echo("b0")), hole.hostPort(), hostPort(echo("b2"))));
        Backend blackholed = backend(fixture, hole.address());

        int sent = 0;
        long slowest = 0;
        while (blackholed.ejections() == 0 && sent < 30) {
            slowest = Math.max(slowest, timedRequest(fixture, sent++)); // each retried on a good backend
        }
        assertThat(blackholed.ejections()).isEqualTo(1);
        assertThat(slowest).as("a request that met the blackhole waited out connect-timeout")
                .isGreaterThanOrEqualTo(CONNECT_TIMEOUT_MS);
        assertThat(blackholed.ejected(System.nanoTime())).isTrue();

        Map<String, Object> status = StatusReport.of(fixture.gateway(), "ready");
        System.out.println("/status with a blackholed backend ejected:\n"
                + new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(
                        Map.of("backends", status.get("backends"))));
        @SuppressWarnings("unchecked")
        Map<String, Object> row = ((List<Map<String, Object>>) status.get("backends")).stream()
                .filter(r -> r.get("address").equals(hole.hostPort())).findFirst().orElseThrow();
        assertThat(row).containsEntry("health", "ejected").containsEntry("ejections", 1)
                .containsKey("ejectedUntil");
        assertThat((Long) row.get("ejectedForMs")).isBetween(20_000L, 33_000L); // 30 s ± 10%, less time passed

        for (int i = 0; i < 100; i++) {
            long millis = timedRequest(fixture, sent++);
            assertThat(millis).as("request %d after the ejection", i).isLessThan(CONNECT_TIMEOUT_MS / 2);
        }
        assertThat(fixture.registry().get("fourtuple.upstream.backend.ejected").tag("backend", hole.hostPort())
                .gauge().value()).isEqualTo(1);
        assertThat(fixture.registry().get("fourtuple.upstream.backend.ejections").tag("backend", hole.hostPort())
                .functionCounter().count()).isEqualTo(1);
    }

    @Test
    void maxEjectionKeepsASecondBlackholedBackendIn() throws Exception {
        Blackhole first = closer.track(Blackhole.start());
        Blackhole second = closer.track(Blackhole.start());
        GatewayFixture fixture = gateway(List.of(first.hostPort(), second.hostPort(), hostPort(echo("good"))));
        Backend a = backend(fixture, first.address());
        Backend b = backend(fixture, second.address());

        // Enough requests for both to fail consecutive-failures times over; each still answered by "good".
        for (int i = 0; i < 12; i++) {
            timedRequest(fixture, i);
            long now = System.nanoTime();
            assertThat((a.ejected(now) ? 1 : 0) + (b.ejected(now) ? 1 : 0)).isLessThanOrEqualTo(1);
        }
        long now = System.nanoTime();
        assertThat(a.ejections() + b.ejections()).isEqualTo(1);
        Backend stillIn = a.ejected(now) ? b : a;
        assertThat(stillIn.ejected(now)).isFalse();
        assertThat(stillIn.requestFailures()).isGreaterThanOrEqualTo(3); // would be out, but for max-ejection
        await().atMost(Duration.ofSeconds(1)).until(() -> fixture.gateway().backends().get("app").stream()
                .filter(x -> x.ejected(System.nanoTime())).count() == 1);
    }
}
