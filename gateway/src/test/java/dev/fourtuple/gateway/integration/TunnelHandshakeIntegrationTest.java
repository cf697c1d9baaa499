package dev.fourtuple.gateway.integration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.metrics.Problem;
import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.HttpWire;
import dev.fourtuple.gateway.testing.RawHttp;
import dev.fourtuple.gateway.testing.RecordingBackend;
import dev.fourtuple.gateway.transport.TransportKind;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * WebSocket tunnels through raw sockets on both ends: only a 101 that completes the handshake the client asked
 * for makes a tunnel (RFC 6455 §4.1); bytes either side sends early are relayed, not dropped; a half-close
 * either way is relayed as a FIN and whatever the other side still sends arrives (RFC 9293 §3.6).
 */
@ParameterizedClass
@EnumSource(TransportKind.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TunnelHandshakeIntegrationTest {
    /** RFC 6455 §1.3's example key and the accept value it must produce. */
    private static final String KEY = "dGhlIHNhbXBsZSBub25jZQ==";
    private static final String ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
    private static final String UPGRADE = "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            + "Sec-WebSocket-Key: " + KEY + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    private static final String SWITCH = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            + "Connection: Upgrade\r\nSec-WebSocket-Accept: " + ACCEPT + "\r\n\r\n";

    @Parameter
    TransportKind transport;

    @RegisterExtension
    final Closer closer = new Closer();
    private RecordingBackend backend;
    private GatewayFixture fixture;
    /** What the backend read after its 101, up to the FIN the gateway relayed. */
    private final CompletableFuture<String> afterSwitch = new CompletableFuture<>();

    private void start(String response, RecordingBackend.RawScript script) throws Exception {
        backend = closer.track(RecordingBackend.start((request, conn) -> {
            conn.takeOver(script);
            return response.getBytes(StandardCharsets.ISO_8859_1);
        }));
        fixture = closer.track(GatewayFixture.inFrontOf(transport, backend, ""));
    }

    /** Everything until the gateway's FIN, or its reset (a dropped connection). */
    private static String readToEnd(InputStream in) {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buffer = new byte[4096];
        try {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                all.write(buffer, 0, n);
            }
        } catch (IOException reset) {
            // what arrived before the reset is the answer
        }
        return all.toString(StandardCharsets.ISO_8859_1);
    }

    @Test
    void aClientHalfCloseIsRelayedAndTheBackendsLaterBytesStillArrive() throws Exception {
        start(SWITCH, (in, out) -> {
            afterSwitch.complete(readToEnd(in)); // until the FIN the gateway relays
            out.write("sent after your FIN".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        });
        try (RawHttp raw = RawHttp.connect(fixture.address(), 10_000)) {
            raw.send(UPGRADE);
            assertThat(raw.readHead()).startsWith("HTTP/1.1 101 ");
            raw.send("last words");
            raw.halfClose();
            assertThat(afterSwitch.get(10, TimeUnit.SECONDS)).isEqualTo("last words");
            assertThat(raw.readUntilClose()).isEqualTo("sent after your FIN");
        }
    }

    @Test
    void aBackendHalfCloseIsRelayedAndTheClientsLaterBytesStillArrive() throws Exception {
        start(SWITCH, (in, out) -> {
            out.write("goodbye".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            backend.connections().get(0).socket().shutdownOutput();
            afterSwitch.complete(readToEnd(in));
        });
        try (RawHttp raw = RawHttp.connect(fixture.address(), 10_000)) {
            raw.send(UPGRADE);
            assertThat(raw.readHead()).startsWith("HTTP/1.1 101 ");
            assertThat(raw.readUntilClose()).as("the backend's FIN arrives as a FIN").isEqualTo("goodbye");
            raw.send("still here");
            raw.halfClose();
            assertThat(afterSwitch.get(10, TimeUnit.SECONDS)).isEqualTo("still here");
        }
    }

    @Test
    void bytesBothSidesSendEarlyAreRelayedNotDropped() throws Exception {
        start(SWITCH + "first frame", (in, out) -> afterSwitch.complete(readToEnd(in)));
        try (RawHttp raw = RawHttp.connect(fixture.address(), 10_000)) {
            raw.send(UPGRADE + "sent before the 101");
            assertThat(raw.readHead()).startsWith("HTTP/1.1 101 ");
            assertThat(new String(raw.readBytes("first frame".length()), StandardCharsets.ISO_8859_1))
                    .isEqualTo("first frame");
            raw.halfClose();
            assertThat(afterSwitch.get(10, TimeUnit.SECONDS)).isEqualTo("sent before the 101");
        }
        String received = backend.connections().get(0).received();
        assertThat(received.substring(received.indexOf("\r\n\r\n") + 4)).isEqualTo("sent before the 101");
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + ACCEPT + "\r\n\r\n",
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: " + ACCEPT + "\r\n\r\n",
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Accept: " + ACCEPT + "\r\n\r\n"})
    void aSwitchThatDoesNotCompleteTheHandshakeIsA502(String response) throws Exception {
        start(response + "not for you", (in, out) -> afterSwitch.complete(readToEnd(in)));
        try (RawHttp raw = RawHttp.connect(fixture.address(), 10_000)) {
            List<HttpWire.Message> responses = raw.send(UPGRADE + "frame").responses();
            assertThat(responses).extracting(HttpWire.Message::status).containsExactly(502);
            assertThat(responses.get(0).bodyText()).doesNotContain("not for you");
        }
        assertThat(afterSwitch.get(10, TimeUnit.SECONDS)).as("the backend's connection was dropped, no tunnel")
                .isEmpty();
        assertThat(fixture.gateway().problems().count(Problem.BAD_RESPONSE)).isEqualTo(1);
        assertThat(fixture.gateway().tunnelMeters().active()).isZero();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "Sec-WebSocket-Key: short\r\n", "Sec-WebSocket-Key: ********************====\r\n"})
    void anUpgradeWithoutAValidKeyIsA400(String key) throws Exception {
        start(SWITCH, (in, out) -> afterSwitch.complete(readToEnd(in)));
        try (RawHttp raw = RawHttp.connect(fixture.address(), 10_000)) {
            List<HttpWire.Message> responses = raw.send("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                    + "Upgrade: websocket\r\n" + key + "Sec-WebSocket-Version: 13\r\n\r\n").responses();
            assertThat(responses).extracting(HttpWire.Message::status).containsExactly(400); // RFC 6455 §4.2.1
        }
        assertThat(backend.connections()).isEmpty();
    }

    @Test
    void anUpgradeRefusedByTheBackendLeavesAnHttpConnection() throws Exception {
        backend = closer.track(RecordingBackend.start((request, conn) -> RecordingBackend.echo(request, conn)));
        fixture = closer.track(GatewayFixture.inFrontOf(transport, backend, ""));
        try (RawHttp raw = RawHttp.connect(fixture.address(), 10_000)) {
            raw.send(UPGRADE);
            assertThat(raw.response().status()).isEqualTo(200);
            raw.send("GET /after HTTP/1.1\r\nHost: x\r\nX-Req: after\r\nConnection: close\r\n\r\n");
            assertThat(raw.response().header("X-Req")).isEqualTo("after");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> fixture.gateway().tunnelMeters().active() == 0);
    }
}
