package dev.fourtuple.gateway.integration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.FrameEchoBackend;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.WebSocketProbe;
import dev.fourtuple.gateway.transport.TransportKind;
import dev.fourtuple.gateway.upstream.Backend;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code on-down}: a tunnel to a backend its check marks down gets a Close 1001 (close), or stays (keep). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HealthOnDownIntegrationTest {
    private static final TransportKind TRANSPORT = TransportKind.EPOLL;

    @RegisterExtension
    final Closer closer = new Closer();

    private GatewayFixture gateway(FrameEchoBackend backend, String onDown) throws Exception {
        return closer.track(GatewayFixture.start(TRANSPORT, 0, none -> "clusters { ws {\n"
                + "  backends = [\"" + backend.hostPort() + "\"]\n"
                + "  health-check { type = http, interval = 200ms, timeout = 150ms, fall = 2, rise = 2 }\n"
                + "  on-down = " + onDown + "\n"
                + "} }\nroutes = [ { cluster = ws } ]\n"));
    }

    private static Backend only(GatewayFixture fixture) {
        return fixture.gateway().backends().get("ws").get(0);
    }

    @Test
    void closeSendsATunnelToABackendMarkedDownAClose1001() throws Exception {
        FrameEchoBackend backend = closer.track(FrameEchoBackend.start());
        GatewayFixture fixture = gateway(backend, "close");
        WebSocketProbe probe = closer.track(WebSocketProbe.open(fixture.ws("/ws")));
        assertThat(probe.echo(new byte[] {1, 2, 3}, Duration.ofSeconds(5))).containsExactly(1, 2, 3);

        backend.health(503);
        await().atMost(Duration.ofSeconds(3)).until(() -> !only(fixture).up());
        assertThat(probe.closed().get(5, TimeUnit.SECONDS)).isEqualTo(1001);
        await().atMost(Duration.ofSeconds(5)).until(() -> fixture.gateway().tunnelMeters().active() == 0);
    }

    @Test
    void keepLeavesTheTunnelOpen() throws Exception {
        FrameEchoBackend backend = closer.track(FrameEchoBackend.start());
        GatewayFixture fixture = gateway(backend, "keep");
        WebSocketProbe probe = closer.track(WebSocketProbe.open(fixture.ws("/ws")));
        assertThat(probe.echo(new byte[] {1, 2, 3}, Duration.ofSeconds(5))).containsExactly(1, 2, 3);

        backend.health(503);
        await().atMost(Duration.ofSeconds(3)).until(() -> !only(fixture).up());
        Thread.sleep(1000); // several checks later, and longer than a close would take
        assertThat(probe.closed()).isNotDone();
        assertThat(probe.echo(new byte[] {4, 5}, Duration.ofSeconds(5))).containsExactly(4, 5);
        assertThat(fixture.gateway().tunnelMeters().active()).isEqualTo(1);
        assertThat(List.of(only(fixture).lastCheck())).allMatch(c -> c.startsWith("503"));
    }
}
