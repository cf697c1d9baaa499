package dev.fourtuple.gateway.integration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.ListenerKind;
import dev.fourtuple.gateway.testing.WebSocketProbe;
import dev.fourtuple.gateway.transport.TransportKind;
import java.net.http.WebSocketHandshakeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * WebSocket upgrades through the gateway become byte tunnels: echo, close, reset and idle behaviour. Over every
 * transport, as ws:// on a plaintext listener and as wss:// on a TLS listener (the tunnel then relays the
 * decrypted bytes).
 */
@ParameterizedClass
@MethodSource("dev.fourtuple.gateway.testing.ListenerKind#withTransports")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WebSocketIntegrationTest {
    @Parameter(0)
    TransportKind transport;
    @Parameter(1)
    ListenerKind listener;

    @RegisterExtension
    final Closer closer = new Closer();
    private GatewayFixture fixture;
    private final List<WebSocketProbe> probes = new ArrayList<>();


    @Test
    void echoesOneMebibyteOfFramesIntact() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, ""));
        WebSocketProbe probe = open();
        byte[] data = new byte[1024 * 1024];
        new Random(1).nextBytes(data);

        probe.sendBinary(data, 4096);

        assertThat(probe.awaitBytes(data.length, Duration.ofSeconds(20))).isEqualTo(data);
        assertThat(fixture.gateway().tunnelMeters().active()).isEqualTo(1);
    }

    @Test
    void manyTunnelsEchoAtOnceOverBothBackends() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 2, ""));
        byte[] data = new byte[16 * 1024];
        new Random(2).nextBytes(data);
        for (int i = 0; i < 50; i++) {
            open().sendBinary(data, 1024);
        }
        for (WebSocketProbe probe : probes) {
            assertThat(probe.awaitBytes(data.length, Duration.ofSeconds(20))).isEqualTo(data);
        }
        assertThat(fixture.gateway().tunnelMeters().active()).isEqualTo(50);
        assertThat(fixture.gateway().upstreamMeters().active()).isEqualTo(50);
    }

    @Test
    void closeHandshakePassesThroughAndBothSidesClose() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, ""));
        WebSocketProbe probe = open();

        probe.socket().sendClose(1000, "bye").get(5, TimeUnit.SECONDS);

        assertThat(probe.closed().get(5, TimeUnit.SECONDS)).isEqualTo(1000);
        awaitNoConnections();
    }

    @Test
    void clientThatVanishesClosesTheBackendSide() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, ""));
        WebSocketProbe probe = open();
        await().atMost(Duration.ofSeconds(5)).until(() -> fixture.gateway().tunnelMeters().active() == 1);

        probe.abort();

        awaitNoConnections();
    }

    @Test
    void backendThatDiesClosesTheClientSide() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, ""));
        WebSocketProbe probe = open();

        fixture.backend(0).close();

        Throwable outcome = catchThrowable(() -> probe.closed().get(5, TimeUnit.SECONDS));
        assertThat(outcome == null || outcome instanceof ExecutionException)
                .as("the client learns of the close (close frame or error), it is not left hanging: %s", outcome)
                .isTrue();
        awaitNoConnections();
    }

    @Test
    void nonSwitchingAnswerIsPassedToTheClientAsIs() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, ""));

        // The echo backend only upgrades on /ws: elsewhere it answers the upgrade request with a plain 403.
        Throwable failure = catchThrowable(() -> WebSocketProbe.open(fixture.ws("/status/403")));

        Throwable cause = failure;
        while (cause != null && !(cause instanceof WebSocketHandshakeException)) {
            cause = cause.getCause();
        }
        assertThat(cause).as("handshake refused: %s", failure).isInstanceOf(WebSocketHandshakeException.class);
        assertThat(((WebSocketHandshakeException) cause).getResponse().statusCode()).isEqualTo(403);
        assertThat(fixture.gateway().tunnelMeters().active()).isZero();
    }

    @Test
    void tunnelOutlivesTheHttpIdleTimeoutButNotTheTunnelIdleTimeout() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, "idle-timeout = 200ms\ntunnel-idle-timeout = 2s"));
        WebSocketProbe probe = open();
        Thread.sleep(800); // quiet for four HTTP idle timeouts: a tunnel must not care
        byte[] data = {1, 2, 3};
        probe.sendBinary(data, 3);
        assertThat(probe.awaitBytes(3, Duration.ofSeconds(5))).isEqualTo(data);

        long quietSince = System.nanoTime();
        Throwable outcome = catchThrowable(() -> probe.closed().get(10, TimeUnit.SECONDS));
        assertThat(outcome == null || outcome instanceof ExecutionException).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - quietSince)).isGreaterThan(Duration.ofMillis(1500));
        awaitNoConnections();
    }

    private WebSocketProbe open() throws Exception {
        WebSocketProbe probe = WebSocketProbe.open(fixture.ws("/ws"));
        probes.add(closer.track(probe));
        return probe;
    }

    private void awaitNoConnections() {
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(fixture.gateway().tunnelMeters().active()).isZero();
            assertThat(fixture.gateway().upstreamMeters().active()).isZero();
            assertThat(fixture.gateway().inboundMeters().active()).isZero();
        });
    }
}
