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
}
