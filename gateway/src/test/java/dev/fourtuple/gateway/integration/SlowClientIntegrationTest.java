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
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Clients that are slow on purpose: a head trickled in on a kept-alive connection, a body a byte at a time.
 * Each is ended by its own timeout with its own status, and a backend connection never waits on them for
 * longer than that. (Timing is asserted only through which timeout answered: 408 from header-timeout or
 * body-timeout, a silent close from idle-timeout.)
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SlowClientIntegrationTest {
    @RegisterExtension
    final Closer closer = new Closer();
    private RecordingBackend backend;
    private GatewayFixture fixture;

    private void start(String extra) throws Exception {
        backend = closer.track(RecordingBackend.start());
        fixture = closer.track(GatewayFixture.inFrontOf(TransportKind.EPOLL, backend, extra));
    }

    /**
     * header-timeout is 300 ms and idle-timeout 20 s: a second head started and never finished gets 408 long
     * before idle-timeout would have closed the connection silently.
     */
    @Test
    void everyHeadOnAKeptAliveConnectionHasHeaderTimeout() throws Exception {
        start("header-timeout = 300ms\nidle-timeout = 20s");
        try (RawHttp raw = RawHttp.connect(fixture.address(), 15_000)) {
            raw.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(raw.response().status()).isEqualTo(200);
            raw.send("GET /2 HTTP/1.1\r\nHost: x\r\n"); // and nothing more
            List<HttpWire.Message> rest = raw.responses();
            assertThat(rest).extracting(HttpWire.Message::status).containsExactly(408);
        }
        assertThat(fixture.gateway().problems().count(Problem.HEADER_TIMEOUT)).isEqualTo(1);
        assertThat(backend.requests()).extracting(RecordingBackend.Request::target).containsExactly("/1");
    }

    /** Between requests, without a byte, it is idle-timeout: closed without a response. */
    @Test
    void anIdleKeptAliveConnectionIsClosedWithoutA408() throws Exception {
        start("header-timeout = 20s\nidle-timeout = 300ms");
        try (RawHttp raw = RawHttp.connect(fixture.address(), 15_000)) {
            raw.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(raw.response().status()).isEqualTo(200);
            assertThat(raw.readUntilClose()).isEmpty();
        }
        assertThat(fixture.gateway().problems().count(Problem.HEADER_TIMEOUT)).isZero();
    }

    /**
     * A body that trickles (10 bytes every 100 ms, far below body-min-rate) ends with 408 once body-timeout
     * runs out, though idle-timeout (20 s) would never fire: every byte resets it.
     */
    @Test
    void aTricklingBodyEndsWith408() throws Exception {
        start("body-timeout = 1s\nbody-min-rate = 1KiB\nidle-timeout = 20s");
        try (RawHttp raw = RawHttp.connect(fixture.address(), 15_000)) {
            raw.send("POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
            String status = null;
            for (int i = 0; i < 200 && status == null; i++) {
                try {
                    raw.send("0123456789");
                } catch (IOException closed) {
                    break; // the gateway answered and closed
                }
                Thread.sleep(100); // the trickle itself, not a wait for a condition
                if (raw.socket().getInputStream().available() > 0) {
                    status = raw.readHead();
                }
            }
            if (status == null) {
                status = raw.readHead();
            }
            assertThat(status).startsWith("HTTP/1.1 408 ");
        }
        assertThat(fixture.gateway().problems().count(Problem.BODY_TIMEOUT)).isEqualTo(1);
        assertThat(backend.requests()).as("no complete request reached the backend").isEmpty();
        await().atMost(Duration.ofSeconds(5)).until(() -> backend.connections().stream().allMatch(
                RecordingBackend.Conn::ended));
    }

    /** A fast upload earns its time: 4 MiB well past body-timeout's second is not cut. */
    @Test
    void aFastBodyIsNotCut() throws Exception {
        start("body-timeout = 1s\nbody-min-rate = 1KiB");
        String body = "x".repeat(4 << 20);
        try (RawHttp raw = RawHttp.connect(fixture.address(), 15_000)) {
            raw.send("POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: " + body.length() + "\r\n"
                    + "Connection: close\r\n\r\n" + body);
            List<HttpWire.Message> responses = raw.responses();
            assertThat(responses).extracting(HttpWire.Message::status).containsExactly(200);
            assertThat(responses.get(0).bodyText()).isEqualTo("POST /big body=" + body.length() + "\n");
        }
    }

    /**
     * A response the client does not read, closing the connection: the last piece is handed over but can never
     * be written out. The connection must not be held past idle-timeout (it was held forever).
     */
    @Test
    void aClientThatStopsReadingItsLastResponseIsClosedAfterIdleTimeout() throws Exception {
        String body = "x".repeat(60 * 1024); // under the write buffer's high-water mark: all of it is handed over
        backend = closer.track(RecordingBackend.start((request, conn) -> ("HTTP/1.1 200 OK\r\nContent-Length: "
                + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.ISO_8859_1)));
        fixture = closer.track(GatewayFixture.inFrontOf(TransportKind.EPOLL, backend,
                "idle-timeout = 500ms\ndownstream.sndbuf = 4KiB"));
        java.net.Socket client = closer.track(new java.net.Socket());
        client.setReceiveBufferSize(4096);
        client.connect(fixture.address(), 5000);
        client.getOutputStream().write("GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                .getBytes(StandardCharsets.ISO_8859_1)); // and never reads
        await().atMost(Duration.ofSeconds(5)).until(() -> backend.requests().size() == 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.gateway().inboundMeters().active() == 0);
    }

    /** RFC 9112 §2.2: an empty line after a request (old clients send one) starts no head: no 408 for it. */
    @Test
    void aStrayCrlfAfterARequestIsNotAHeadInProgress() throws Exception {
        start("header-timeout = 300ms\nidle-timeout = 1s");
        try (RawHttp raw = RawHttp.connect(fixture.address(), 15_000)) {
            raw.send("POST /1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\r\n");
            assertThat(raw.response().status()).isEqualTo(200);
            assertThat(raw.readUntilClose()).as("closed by idle-timeout, without a 408").isEmpty();
        }
        assertThat(fixture.gateway().problems().count(Problem.HEADER_TIMEOUT)).isZero();
    }

    /**
     * Expect: 100-continue: the backend answers 100 first, the body follows, then the backend takes longer
     * than idle-timeout to answer. request-timeout governs that wait (a 504 from the stale inactivity deadline
     * was the bug).
     */
    @Test
    void aBodySentAfterA100ContinueWaitsForTheAnswerUnderRequestTimeout() throws Exception {
        java.net.ServerSocket server = closer.track(new java.net.ServerSocket(0, 1,
                java.net.InetAddress.getLoopbackAddress()));
        Thread backendThread = new Thread(() -> {
            try (java.net.Socket s = server.accept()) {
                java.io.InputStream in = new java.io.BufferedInputStream(s.getInputStream());
                StringBuilder head = new StringBuilder();
                while (!head.toString().endsWith("\r\n\r\n")) {
                    head.append((char) in.read());
                }
                s.getOutputStream().write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                in.readNBytes(5);
                Thread.sleep(1500); // the backend's own work, longer than idle-timeout
                s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone"
                        .getBytes(StandardCharsets.ISO_8859_1));
                in.read();
            } catch (IOException | InterruptedException e) {
                // the test's assertions tell
            }
        });
        backendThread.setDaemon(true);
        backendThread.start();
        fixture = closer.track(GatewayFixture.start(TransportKind.EPOLL, 0, b -> "idle-timeout = 500ms\n"
                + "request-timeout = 10s\nclusters { app { backends = [\"127.0.0.1:" + server.getLocalPort()
                + "\"] } }\nroutes = [ { cluster = app } ]\n"));
        try (RawHttp raw = RawHttp.connect(fixture.address(), 15_000)) {
            raw.send("POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
            assertThat(raw.response().status()).isEqualTo(100);
            raw.send("hello");
            HttpWire.Message answer = raw.response();
            assertThat(answer.status()).isEqualTo(200);
            assertThat(answer.bodyText()).isEqualTo("done");
        }
    }
}
