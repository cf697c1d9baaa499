package dev.fourtuple.gateway.admission;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.RawHttp;
import dev.fourtuple.gateway.transport.TransportKind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The accept-rate limit smooths a burst of new connections: they wait (or are refused), none is lost. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AcceptRateIntegrationTest {
    @RegisterExtension
    final Closer closer = new Closer();

    @Test
    void aBurstOf500At100PerSecondIsAdmittedOverAboutFourSecondsAndNoneIsLost() throws Exception {
        GatewayFixture fixture = closer.track(GatewayFixture.simple(TransportKind.EPOLL, 1,
                "admission.accept-rate = 100\nbacklog = 1024"));
        long start = System.nanoTime();
        List<RawHttp> clients = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            // The kernel completes the handshake from its accept queue; the gateway accepts at its own pace.
            clients.add(closer.track(RawHttp.connect(fixture.address(), 20_000))
                    .send("GET /status/200 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
        }
        int ok = 0;
        for (RawHttp client : clients) {
            if (client.readUntilClose().startsWith("HTTP/1.1 200 ")) {
                ok++;
            }
        }
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertThat(ok).as("every connection served").isEqualTo(500);
        // 100 at once (a second's worth saved up), then 100 a second: the last about 4 s after the first.
        assertThat(took).isBetween(Duration.ofMillis(3500), Duration.ofSeconds(10));
    }

    @Test
    void withRefuseTheExcessGets503AtOnce() throws Exception {
        GatewayFixture fixture = closer.track(GatewayFixture.simple(TransportKind.EPOLL, 1,
                "admission { accept-rate = 50, accept-rate-excess = refuse }"));
        List<RawHttp> clients = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            clients.add(closer.track(RawHttp.connect(fixture.address(), 10_000))
                    .send("GET /status/200 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
        }
        int ok = 0;
        int refused = 0;
        long start = System.nanoTime();
        for (RawHttp client : clients) {
            String response = client.readUntilClose();
            if (response.startsWith("HTTP/1.1 200 ")) {
                ok++;
            } else if (response.startsWith("HTTP/1.1 503 ") && response.contains("Retry-After: ")) {
                refused++;
            }
        }
        assertThat(ok + refused).isEqualTo(200);
        assertThat(ok).isBetween(50, 80);
        assertThat(refused).isPositive();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
    }
}
