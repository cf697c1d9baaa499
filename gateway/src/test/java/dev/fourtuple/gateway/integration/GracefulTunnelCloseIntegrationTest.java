package dev.fourtuple.gateway.integration;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.WebSocketProbe;
import dev.fourtuple.gateway.transport.TransportKind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A drain ends each tunnel the way a WebSocket ends (RFC 6455 §7.1.2): the client gets a Close 1001 at a
 * frame boundary, never inside a frame it is receiving, and the closes are spread over the drain's window.
 */
@ParameterizedClass
@EnumSource(TransportKind.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GracefulTunnelCloseIntegrationTest {
    @Parameter
    TransportKind transport;

    @RegisterExtension
    final Closer closer = new Closer();

    @Test
    void aDrainSendsEveryClientAClose1001SpreadOverTheWindow() throws Exception {
        GatewayFixture fixture = closer.track(GatewayFixture.simple(transport, 1, ""));
        List<WebSocketProbe> probes = new ArrayList<>();
        List<Long> closedAt = java.util.Collections.synchronizedList(new ArrayList<>());
        byte[] data = new byte[256 * 1024];
        new Random(7).nextBytes(data);
        for (int i = 0; i < 40; i++) {
            WebSocketProbe probe = closer.track(WebSocketProbe.open(fixture.ws("/ws")));
            probe.closed().thenRun(() -> closedAt.add(System.nanoTime()));
            probes.add(probe);
        }
        // Some are in the middle of large echoes when the drain starts: their frames must arrive whole.
        for (int i = 0; i < 10; i++) {
            probes.get(i).socket().sendBinary(java.nio.ByteBuffer.wrap(data), true);
        }

        CompletableFuture<Long> left = CompletableFuture.supplyAsync(
                () -> fixture.gateway().drainAndStop(Duration.ofSeconds(8)));

        for (WebSocketProbe probe : probes) {
            assertThat(probe.closed().get(20, TimeUnit.SECONDS)).isEqualTo(1001);
        }
        assertThat(left.get(20, TimeUnit.SECONDS)).as("connections left at the drain's end").isZero();
        long first = closedAt.stream().mapToLong(Long::longValue).min().orElseThrow();
        long last = closedAt.stream().mapToLong(Long::longValue).max().orElseThrow();
        // 40 closes at random within 4 s: all within one second of each other has odds below 1e-20.
        assertThat(Duration.ofNanos(last - first)).isGreaterThan(Duration.ofSeconds(1));
    }
}
