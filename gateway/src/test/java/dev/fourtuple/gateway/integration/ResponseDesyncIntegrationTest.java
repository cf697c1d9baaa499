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
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
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
 * The backend side: a backend that sends more than one response's worth, or a response whose framing is
 * doubtful, must not be able to answer another client's request. The gateway runs one event loop with one
 * pooled connection per backend, so a connection that were wrongly reused would carry the next client's
 * request; every case checks which backend connection the next request arrived on, and what it got.
 */
@ParameterizedClass
@EnumSource(TransportKind.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ResponseDesyncIntegrationTest {
    private static final String OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Req: first\r\n\r\nok";
    private static final String EVIL = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-Req: next\r\n\r\nevil";

    @Parameter
    TransportKind transport;

    @RegisterExtension
    final Closer closer = new Closer();
    private RecordingBackend backend;
    private GatewayFixture fixture;

    /** The backend answers /first with {@code first}, everything else with the echo. */
    private void start(String first) throws Exception {
        start((request, conn) -> request.target().equals("/first")
                ? first.getBytes(StandardCharsets.ISO_8859_1) : RecordingBackend.echo(request, conn));
    }

    private void start(RecordingBackend.Responder responder) throws Exception {
        backend = closer.track(RecordingBackend.start(responder));
        fixture = closer.track(GatewayFixture.inFrontOf(transport, backend, "event-loops = 1\n"
                + "upstream.keepalive-max-idle = 1\n"));
    }

    private List<HttpWire.Message> send(String request, boolean... heads) throws Exception {
        try (RawHttp raw = RawHttp.connect(fixture.address(), 10_000)) {
            return raw.send(request).responses(heads);
        }
    }

    /** The next client: its answer is its own, and came over a fresh backend connection. */
    private void assertNextClientServedFresh() throws Exception {
        List<HttpWire.Message> next = send("GET /next HTTP/1.1\r\nHost: x\r\nX-Req: mine\r\nConnection: close\r\n\r\n");
        assertThat(next).hasSize(1);
        assertThat(next.get(0).header("X-Req")).isEqualTo("mine");
        assertThat(next.get(0).bodyText()).isEqualTo("GET /next body=0\n");
        RecordingBackend.Request seen = backend.requests().get(backend.requests().size() - 1);
        assertThat(seen.target()).isEqualTo("/next");
        assertThat(seen.connection()).as("the first backend connection was not reused").isEqualTo(2);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            OK + EVIL, // a second, unasked-for response
            OK + "HTTP/1.1 200 OK\r\nX-Partial: ", // the start of one, to be completed by the next exchange's
            OK + "\r\n", // even an empty line
            OK + "HTTP/1.1 100 Continue\r\n\r\n", // a 1xx after the final response
            "HTTP/1.1 204 No Content\r\nX-Req: first\r\n\r\nevil", // a body on a 204
            "HTTP/1.1 304 Not Modified\r\nX-Req: first\r\nContent-Length: 4\r\n\r\nevil"})
    void bytesPastTheFramedEndNeverReachTheNextClient(String response) throws Exception {
        start(response);
        List<HttpWire.Message> first = send("GET /first HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        assertThat(first).hasSize(1);
        assertThat(first.get(0).header("X-Req")).isEqualTo("first");
        assertNextClientServedFresh();
    }

    @Test
    void aBodyOnAHeadResponseIsNotRelayedNorReused() throws Exception {
        start((request, conn) -> request.method().equals("HEAD")
                ? "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-Req: first\r\n\r\nevil".getBytes(StandardCharsets.ISO_8859_1)
                : RecordingBackend.echo(request, conn));
        try (RawHttp raw = RawHttp.connect(fixture.address(), 10_000)) {
            raw.send("HEAD /first HTTP/1.1\r\nHost: x\r\n\r\n");
            HttpWire.Message head = raw.response(true);
            assertThat(head.header("Content-Length")).isEqualTo("4"); // the length of what a GET would get
            raw.send("GET /again HTTP/1.1\r\nHost: x\r\nX-Req: again\r\n\r\n");
            HttpWire.Message again = raw.response();
            assertThat(again.header("X-Req")).as("the client connection stays in step").isEqualTo("again");
        }
        assertThat(backend.requests().get(1).connection()).isEqualTo(2);
    }

    @Test
    void bytesSentWhileIdleInThePoolGetTheConnectionReset() throws Exception {
        start("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Req: first\r\n\r\nok");
        assertThat(send("GET /first HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).hasSize(1);
        RecordingBackend.Conn pooled = backend.connections().get(0);
        pooled.write(EVIL); // nobody asked

        await().atMost(Duration.ofSeconds(10)).until(pooled::ended);
        assertNextClientServedFresh();
    }

    @Test
    void aResponseWhoseConnectionNamesContentLengthClosesBothSides() throws Exception {
        start("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: content-length\r\nX-Req: first\r\n\r\nok");
        try (RawHttp raw = RawHttp.connect(fixture.address(), 10_000)) {
            raw.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n");
            HttpWire.Message response = raw.response();
            assertThat(response.bodyText()).isEqualTo("ok");
            assertThat(response.header("Connection")).isEqualToIgnoringCase("close");
            assertThat(response.header("Content-Length")).as("the framing is kept").isEqualTo("2");
            assertThat(raw.closedByPeer()).isTrue();
        }
        assertNextClientServedFresh();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nevil",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 4\r\n\r\nevil",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n4\r\nevil\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nevil",
            "HTTP/1.1 600 Odd\r\nContent-Length: 4\r\n\r\nevil",
            "HTTP/1.1 200 OK\nContent-Length: 4\n\nevil",
            "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nevil\r\n0\r\n\r\n",
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nevil",
            "SSH-2.0-OpenSSH\r\n"})
    void aResponseWithDoubtfulFramingIsA502(String response) throws Exception {
        start(response);
        List<HttpWire.Message> first = send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n");

        assertThat(first).extracting(HttpWire.Message::status).containsExactly(502);
        assertThat(String.join("", first.stream().map(HttpWire.Message::bodyText).toList())).doesNotContain("evil");
        assertThat(fixture.gateway().problems().count(Problem.BAD_RESPONSE)).isEqualTo(1);
        assertNextClientServedFresh();
    }

    @Test
    void endlessInterimResponsesAreA502() throws Exception {
        start("HTTP/1.1 100 Continue\r\n\r\n".repeat(40) + OK);
        List<HttpWire.Message> responses = send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n");

        assertThat(responses).extracting(HttpWire.Message::status).endsWith(502).doesNotContain(200);
        assertThat(responses.stream().filter(r -> r.status() == 100).count()).isLessThanOrEqualTo(16);
    }

    /**
     * RFC 9110 §9.2.2: the backend closes a reused connection on receiving the request, before any byte of a
     * response. An idempotent request without a body is sent again on a fresh connection; a POST is not,
     * whatever its body.
     */
    @ParameterizedTest
    @ValueSource(strings = {"GET", "HEAD", "DELETE", "POST", "PATCH", "POST-empty"})
    void onlyIdempotentRequestsAreReplayed(String method) throws Exception {
        start((request, conn) -> request.target().equals("/drop") && conn.id() == 1
                ? null // close without a byte of an answer
                : RecordingBackend.echo(request, conn));
        String verb = method.replace("-empty", "");
        String body = method.equals("POST") || method.equals("PATCH") ? "Content-Length: 3\r\n\r\nabc"
                : method.equals("POST-empty") ? "Content-Length: 0\r\n\r\n" : "\r\n";
        try (RawHttp raw = RawHttp.connect(fixture.address(), 10_000)) {
            raw.send("GET /warm HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(raw.response().status()).isEqualTo(200); // connection 1 is pooled now
            raw.send(verb + " /drop HTTP/1.1\r\nHost: x\r\nX-Req: drop\r\n" + body);
            HttpWire.Message response = raw.response(verb.equals("HEAD"));
            boolean idempotent = List.of("GET", "HEAD", "DELETE").contains(method);
            List<RecordingBackend.Request> drops = backend.requests().stream()
                    .filter(r -> r.target().equals("/drop")).toList();
            if (idempotent) {
                assertThat(response.status()).isEqualTo(200);
                assertThat(drops).extracting(RecordingBackend.Request::connection).containsExactly(1, 2);
            } else {
                assertThat(response.status()).isEqualTo(502);
                assertThat(drops).as("never replayed once written").hasSize(1);
            }
        }
    }

    @Test
    void aRequestWhoseResponseHadBegunIsNotReplayed() throws Exception {
        start((request, conn) -> {
            if (request.target().equals("/drop") && conn.id() == 1) {
                conn.takeOver((in, out) -> { }); // then close: part of a status line is all it sends
                return "HTTP/1.1 2".getBytes(StandardCharsets.ISO_8859_1);
            }
            return RecordingBackend.echo(request, conn);
        });
        try (RawHttp raw = RawHttp.connect(fixture.address(), 10_000)) {
            raw.send("GET /warm HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(raw.response().status()).isEqualTo(200);
            raw.send("GET /drop HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(raw.response().status()).isEqualTo(502);
        }
        assertThat(backend.requests().stream().filter(r -> r.target().equals("/drop")).count())
                .as("a byte of a response arrived: it may have been processed").isEqualTo(1);
    }
}
