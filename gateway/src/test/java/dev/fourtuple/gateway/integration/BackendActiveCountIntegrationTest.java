package dev.fourtuple.gateway.integration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.testing.Blackhole;
import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.RawHttp;
import dev.fourtuple.gateway.testing.RecordingBackend;
import dev.fourtuple.gateway.transport.TransportKind;
import dev.fourtuple.gateway.upstream.Backend;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A backend's count of requests and tunnels in progress ({@link Backend#active()}, what least-connections
 * balances on) returns to 0 in every way an exchange can end, through real sockets: answered, the client
 * leaving mid-connect, a connect refused then another backend, every backend refused (502), a connect timeout
 * (504), a response timeout (504), a replay after a stale pooled connection, a tunnel that closes. And the
 * health signals: a stale pooled connection's close does not count against its backend.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class BackendActiveCountIntegrationTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final String GET = "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    private static final String KEEP = "GET /k HTTP/1.1\r\nHost: t\r\n\r\n";

    @RegisterExtension
    final Closer closer = new Closer();

    private GatewayFixture gateway(String extra, String... backends) throws Exception {
        return closer.track(GatewayFixture.start(TransportKind.EPOLL, 0, none -> extra + "\n"
                + "clusters { app { balancer = least-connections\n"
                + "  backends = [\"" + String.join("\", \"", backends) + "\"]\n"
                + "  outlier-detection { consecutive-failures = 100 }\n"
                + "} }\nroutes = [ { cluster = app } ]\n"));
    }

    private static List<Backend> backends(GatewayFixture fixture) {
        return fixture.gateway().backends().get("app");
    }

    private static Backend backend(GatewayFixture fixture, InetSocketAddress address) {
        return backends(fixture).stream().filter(b -> b.address().equals(address)).findFirst().orElseThrow();
    }

    private static void awaitIdle(GatewayFixture fixture) {
        await().atMost(WAIT).untilAsserted(() -> assertThat(backends(fixture)).allSatisfy(
                b -> assertThat(b.active()).as(b + " active").isZero()));
    }

    private RawHttp client(GatewayFixture fixture) throws IOException {
        return closer.track(fixture.raw(10_000));
    }

    private static String deadPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return "127.0.0.1:" + s.getLocalPort();
        }
    }

    @Test
    void answered() throws Exception {
        RecordingBackend rec = closer.track(RecordingBackend.start());
        GatewayFixture fixture = gateway("", rec.hostPort());
        RawHttp c = client(fixture);
        assertThat(c.send(KEEP).response().status()).isEqualTo(200);
        awaitIdle(fixture);
        assertThat(c.send(GET).response().status()).isEqualTo(200);
        awaitIdle(fixture);
    }

    @Test
    void clientLeavesMidConnect() throws Exception {
        Blackhole hole = closer.track(Blackhole.start());
        GatewayFixture fixture = gateway("connect-timeout = 30s",
                "127.0.0.1:" + hole.address().getPort());
        RawHttp c = client(fixture);
        c.send(GET);
        Backend b = backends(fixture).get(0);
        await().atMost(WAIT).until(() -> b.active() == 1);
        c.close();
        awaitIdle(fixture);
    }

    @Test
    void refusedThenAnotherBackendThenAllRefused() throws Exception {
        RecordingBackend rec = closer.track(RecordingBackend.start());
        String dead = deadPort();
        GatewayFixture fixture = gateway("", dead, rec.hostPort());
        for (int i = 0; i < 4; i++) {
            assertThat(client(fixture).send(GET).response().status()).isEqualTo(200);
        }
        awaitIdle(fixture);
        GatewayFixture allDead = gateway("", deadPort(), deadPort());
        assertThat(client(allDead).send(GET).response().status()).isEqualTo(502);
        awaitIdle(allDead);
    }

    @Test
    void connectTimeoutAndResponseTimeout() throws Exception {
        Blackhole hole = closer.track(Blackhole.start());
        GatewayFixture fixture = gateway("connect-timeout = 300ms", "127.0.0.1:" + hole.address().getPort());
        assertThat(client(fixture).send(GET).response().status()).isEqualTo(504);
        awaitIdle(fixture);

        RecordingBackend silent = closer.track(RecordingBackend.start((request, conn) -> {
            conn.takeOver((in, out) -> in.transferTo(OutputStreamNull.INSTANCE));
            return new byte[0];
        }));
        GatewayFixture slow = gateway("request-timeout = 300ms", silent.hostPort());
        assertThat(client(slow).send(GET).response().status()).isEqualTo(504);
        awaitIdle(slow);
    }

    @Test
    void aStalePooledConnectionIsReplayedAndDoesNotCountAgainstItsBackend() throws Exception {
        RecordingBackend rec = closer.track(RecordingBackend.start((request, conn) ->
                conn.requests().size() > 1 ? null : RecordingBackend.echo(request, conn)));
        GatewayFixture fixture = gateway("", rec.hostPort());
        Backend b = backends(fixture).get(0);
        assertThat(client(fixture).send(KEEP).response().status()).isEqualTo(200);
        awaitIdle(fixture);
        // The pooled connection closes without an answer to its second request: a keep-alive race.
        assertThat(client(fixture).send(GET).response().status()).isEqualTo(200);
        awaitIdle(fixture);
        assertThat(rec.connections()).hasSize(2);
        assertThat(b.requestFailures()).as("the stale connection's close is not the backend's failure").isZero();
    }

    @Test
    void aTunnelThatCloses() throws Exception {
        RecordingBackend ws = closer.track(RecordingBackend.start((request, conn) -> {
            conn.takeOver((in, out) -> in.transferTo(out));
            return ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Accept: " + accept(request.header("Sec-WebSocket-Key")) + "\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1);
        }));
        GatewayFixture fixture = gateway("", ws.hostPort());
        RawHttp c = client(fixture);
        c.send("GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        assertThat(c.readHead()).startsWith("HTTP/1.1 101");
        Backend b = backends(fixture).get(0);
        assertThat(b.active()).isEqualTo(1);
        c.close();
        awaitIdle(fixture);
    }

    @Test
    void a5xxCountsAgainstTheBackendAndA2xxResetsIt() throws Exception {
        RecordingBackend rec = closer.track(RecordingBackend.start((request, conn) -> request.target().equals("/bad")
                ? "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)
                : RecordingBackend.echo(request, conn)));
        GatewayFixture fixture = gateway("", rec.hostPort());
        Backend b = backends(fixture).get(0);
        assertThat(client(fixture).send(GET.replace("/x", "/bad")).response().status()).isEqualTo(500);
        assertThat(client(fixture).send(GET.replace("/x", "/bad")).response().status()).isEqualTo(500);
        await().atMost(WAIT).until(() -> b.requestFailures() == 2);
        assertThat(client(fixture).send(GET).response().status()).isEqualTo(200);
        await().atMost(WAIT).until(() -> b.requestFailures() == 0);
        awaitIdle(fixture);
    }

    private static String accept(String key) {
        try {
            byte[] sha = MessageDigest.getInstance("SHA-1").digest( // RFC 6455 §4.2.2
                    (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").getBytes(StandardCharsets.ISO_8859_1));
            return Base64.getEncoder().encodeToString(sha);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Discards what a silent backend reads. */
    private static final class OutputStreamNull extends java.io.OutputStream {
        static final OutputStreamNull INSTANCE = new OutputStreamNull();

        @Override
        public void write(int b) {
        }
    }
}
