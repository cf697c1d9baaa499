package dev.fourtuple.gateway.integration;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fourtuple.gateway.metrics.Problem;
import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.HttpWire;
import dev.fourtuple.gateway.testing.RawHttp;
import dev.fourtuple.gateway.testing.RecordingBackend;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An outside attack on the hardened front door (issue 11), through real sockets, against a
 * {@link RecordingBackend} that keeps every byte and parses it with its own parser. Each test asserts what
 * issue 11 promises; a failing test is a finding. Tests named {@code held...} are vectors that were tried and
 * held, kept as regression tests.
 *
 * <p>Findings (failing on purpose, see each test):
 * <ol>
 *   <li>critical: {@link #hixieKeysDoNotSmuggleEightBytesIntoTheNextRequest},
 *       {@link #aWebSocketUpgradeWithHixieKeysCarriesNoBody}: Sec-WebSocket-Key1/Key2 give a GET an 8-byte body
 *       in Netty's decoder; it is forwarded raw with no framing header and prefixes the next request on the
 *       pooled backend connection (another client's).</li>
 *   <li>high: {@link #aClientThatDoesNotReadCannotMakeTheGatewayBufferEveryResponse}: no backpressure across
 *       pipelined exchanges; one connection makes the gateway queue every response in memory.</li>
 *   <li>medium: {@link #aClientFinBeforeThe101IsRelayedAfterIt} (epoll, io_uring): a client FIN before the 101
 *       aborts the upgrade instead of being relayed after it.</li>
 *   <li>medium (needs a misbehaving backend): {@link #aLateBodyAfterAHeadResponseNeverReachesTheNextClient}.</li>
 *   <li>minor: {@link #a408AfterAHeadCarriesItsBody}, {@link #http10WithTwoDifferentContentLengthsIsRefused},
 *       {@link #anHttp10ResponseWithTwoDifferentContentLengthsIsA502}, {@link #aHostInATrailerIsNotForwarded},
 *       {@link #framingHeadersReachTheBackendInTheGatewaysOwnWords}.</li>
 *   <li>design choice at odds with the invariant: {@link #aHalfCloseAfterCompleteRequestsStillGetsTheirAnswers},
 *       {@link #aHalfCloseMidBodyGetsAnErrorStatus}.</li>
 * </ol>
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AttackIntegrationTest {
    private static final TransportKind TRANSPORT = TransportKind.EPOLL;

    @RegisterExtension
    final Closer closer = new Closer();
    private RecordingBackend backend;
    private GatewayFixture fixture;

    private void start(String extra) throws Exception {
        start(extra, RecordingBackend::echo);
    }

    private void start(String extra, RecordingBackend.Responder responder) throws Exception {
        backend = closer.track(RecordingBackend.start(responder));
        fixture = closer.track(GatewayFixture.inFrontOf(TRANSPORT, backend, extra));
    }

    private List<HttpWire.Message> send(String bytes, boolean... heads) throws Exception {
        try (RawHttp raw = RawHttp.connect(fixture.address(), 10_000)) {
            return raw.send(bytes).responses(heads);
        }
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }

    // ---------------------------------------------------------------------------------------------------
    // Finding: a GET with Sec-WebSocket-Key1 and Sec-WebSocket-Key2 (the Hixie-76 draft) is read by Netty's
    // decoder with an 8-byte body although it has no Content-Length and no Transfer-Encoding. The gateway
    // forwards the head without any framing header and the 8 bytes raw behind it: the backend (RFC 9112 §6.3
    // rule 7: no framing header, no body) parses them as the start of the next request on that connection.
    // ---------------------------------------------------------------------------------------------------

    /** The backend must see the body the gateway forwarded as this request's body, not as the next request. */
    @Test
    void hixieKeysDoNotSmuggleEightBytesIntoTheNextRequest() throws Exception {
        start("event-loops = 1\nupstream.keepalive-max-idle = 1");
        List<HttpWire.Message> attacker = send("GET /attacker HTTP/1.1\r\nHost: x\r\n"
                + "Sec-WebSocket-Key1: 1\r\nSec-WebSocket-Key2: 2\r\nConnection: close\r\n\r\nSMUGGLED");
        List<HttpWire.Message> victim = send("GET /victim HTTP/1.1\r\nHost: x\r\nCookie: session=secret\r\n"
                + "X-Req: victim\r\nConnection: close\r\n\r\n");

        assertThat(attacker).hasSize(1);
        assertThat(victim).hasSize(1);
        // Either refused (400) or forwarded with its 8 bytes framed as its body: never as the next request's.
        if (attacker.get(0).status() == 200) {
            assertThat(backend.requests().get(0).body()).as("the attacker's body, as the gateway read it")
                    .isEqualTo("SMUGGLED");
        }
        assertThat(victim.get(0).bodyText()).as("the victim's request reached the backend as the victim sent it")
                .isEqualTo("GET /victim body=0\n");
        assertThat(backend.requests()).extracting(RecordingBackend.Request::method)
                .as("no request with a method the victim never sent").allMatch("GET"::equals);
    }

    /**
     * The same on the upgrade path: RequestRules refuses a WebSocket upgrade with a body (RFC 6455 §4.1), but
     * checks only Content-Length and Transfer-Encoding. With the Hixie keys the 8 bytes go to the backend raw;
     * a backend that declines the upgrade (200, keep-alive) parses them as the next request.
     */
    @Test
    void aWebSocketUpgradeWithHixieKeysCarriesNoBody() throws Exception {
        start("event-loops = 1\nupstream.keepalive-max-idle = 1");
        int attacker;
        try (RawHttp raw = RawHttp.connect(fixture.address(), 10_000)) {
            raw.send("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                    + "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                    + "Sec-WebSocket-Key1: 1\r\nSec-WebSocket-Key2: 2\r\n\r\nSMUGGLED");
            attacker = raw.response().status(); // the echo backend declines the upgrade with a 200
        }
        List<HttpWire.Message> victim = send("GET /victim HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        assertThat(victim.get(0).bodyText()).as("the victim's request, after an upgrade answered %d", attacker)
                .isEqualTo("GET /victim body=0\n");
        assertThat(attacker).as("an upgrade with a body").isEqualTo(400);
    }

    // ---------------------------------------------------------------------------------------------------
    // Pipelining into a client that does not read: every response is queued in the gateway's memory.
    // ---------------------------------------------------------------------------------------------------

    /**
     * One connection pipelines thousands of small GETs and never reads. Each exchange reads its response from
     * the backend once (Exchange.onConnected reads unconditionally) and the next exchange starts regardless of
     * the client connection's writability, so responses pile up in the client channel's outbound buffer. A
     * gateway with backpressure stops taking requests once the client's socket and the write high-water mark
     * are full: at most a few hundred 16 KiB responses (the kernel holds at most ~4 MiB on loopback).
     */
    @Test
    void aClientThatDoesNotReadCannotMakeTheGatewayBufferEveryResponse() throws Exception {
        String body = "x".repeat(16 * 1024);
        start("", (request, conn) -> bytes("HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body));
        int depth = 5000;
        StringBuilder pipeline = new StringBuilder();
        for (int i = 0; i < depth; i++) {
            pipeline.append("GET /p").append(i).append(" HTTP/1.1\r\nHost: x\r\n\r\n");
        }
        try (Socket socket = new Socket()) {
            socket.setReceiveBufferSize(4096); // and never read
            socket.connect(fixture.address(), 5000);
            Thread writer = new Thread(() -> {
                try {
                    socket.getOutputStream().write(bytes(pipeline.toString()));
                } catch (IOException e) {
                    // closed at the end of the test
                }
            });
            writer.setDaemon(true);
            writer.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(6);
            while (System.nanoTime() < deadline && backend.requests().size() < depth) {
                Thread.sleep(100); // the gateway does what it will with a client that reads nothing
            }
            int served = backend.requests().size();
            long queued = (long) served * body.length();
            long direct = ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider metrics
                    ? metrics.metric().usedDirectMemory() : -1;
            assertThat(served).as("requests answered into a client that read nothing (%d MiB of responses, "
                    + "Netty's allocator holds %d MiB of direct memory)", queued >> 20, direct >> 20)
                    .isLessThan(1000);
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // HTTP/1.0 with two different Content-Length values.
    // ---------------------------------------------------------------------------------------------------

    /**
     * RFC 9112 §6.3 rule 5 / RFC 9110 §8.6: differing Content-Length values are an unrecoverable framing error
     * in any version; a server MUST answer 400 and close. Netty's normalizeAndGetContentLength skips its
     * duplicate check for HTTP/1.0 and takes the first value.
     */
    @Test
    void http10WithTwoDifferentContentLengthsIsRefused() throws Exception {
        start("");
        List<HttpWire.Message> responses = send("POST /a HTTP/1.0\r\nHost: x\r\nContent-Length: 5\r\n"
                + "Content-Length: 35\r\n\r\nhelloGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");

        assertThat(responses).extracting(HttpWire.Message::status).containsExactly(400);
        assertThat(backend.requests()).isEmpty();
    }

    // ---------------------------------------------------------------------------------------------------
    // The response encoder's HEAD flag outlives the HEAD exchange.
    // ---------------------------------------------------------------------------------------------------

    /**
     * After a HEAD, the next request head times out (header-timeout). The 408 answers no HEAD, but the
     * encoder still thinks it does (respondingTo is only set when an exchange starts): the 408 goes out with
     * Content-Length and no body, then the close. A client reads a truncated message.
     */
    @Test
    void a408AfterAHeadCarriesItsBody() throws Exception {
        start("header-timeout = 300ms\nidle-timeout = 20s");
        try (RawHttp raw = RawHttp.connect(fixture.address(), 10_000)) {
            raw.send("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(raw.response(true).status()).isEqualTo(200);
            raw.send("GET /2 HTTP/1.1\r\nHost: x\r\n"); // never finished
            String rest = raw.readUntilClose();
            assertThat(rest).startsWith("HTTP/1.1 408 ");
            HttpWire.Message timeout = HttpWire.readResponse(
                    new ByteArrayInputStream(bytes(rest)), false); // a 408 to a GET head: it has its body
            assertThat(timeout.bodyText()).isEqualTo("408 Request Timeout\n");
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // Half-closes on plain HTTP connections.
    // ---------------------------------------------------------------------------------------------------

    /**
     * A client pipelines two complete requests and half-closes. The gateway takes a FIN with a request in
     * flight as the client leaving (nginx's default; README, Security): the exchange is cut and the backend
     * freed at once, no answer is written, and what was held behind the request (/2) never reaches the
     * backend. The one documented exception to "the backend parses exactly what was answered": nobody is left
     * to take that answer.
     */
    @Test
    void aHalfCloseWithARequestInFlightIsTakenAsTheClientLeaving() throws Exception {
        start("event-loops = 1");
        try (RawHttp warm = RawHttp.connect(fixture.address(), 10_000)) {
            warm.send("GET /warm HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(warm.response().status()).isEqualTo(200); // a pooled backend connection now
        }
        String all;
        try (RawHttp raw = RawHttp.connect(fixture.address(), 10_000)) {
            raw.send("GET /1 HTTP/1.1\r\nHost: x\r\nX-Req: 1\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\nX-Req: 2\r\n\r\n");
            raw.halfClose();
            all = raw.readUntilClose();
        }
        List<String> parsed = backend.requests().stream().map(RecordingBackend.Request::target)
                .filter(t -> !t.equals("/warm")).toList();
        assertThat(parsed).as("nothing held behind the request in flight is forwarded").isSubsetOf("/1");
        if (all.isEmpty()) {
            assertThat(fixture.gateway().problems().count(Problem.CLIENT_CLOSED)).isEqualTo(1);
        } else {
            // The answer was quicker than the FIN: then it is the answer to /1, and only that.
            List<HttpWire.Message> responses = HttpWire.readResponses(new ByteArrayInputStream(
                    all.getBytes(StandardCharsets.ISO_8859_1)));
            assertThat(responses).extracting(r -> r.header("X-Req")).containsExactly("1");
        }
    }

    /** A body cut short by a half-close is bad input: the client, which can still read, gets 400. */
    @Test
    void aHalfCloseMidBodyGetsAnErrorStatus() throws Exception {
        start("");
        try (RawHttp raw = RawHttp.connect(fixture.address(), 10_000)) {
            raw.send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello");
            raw.halfClose();
            String all = raw.readUntilClose();
            assertThat(all).as("what the client got").startsWith("HTTP/1.1 400 ");
        }
        assertThat(backend.requests()).isEmpty();
    }

    // ---------------------------------------------------------------------------------------------------
    // A HEAD response whose (forbidden) body arrives a moment after its head.
    // ---------------------------------------------------------------------------------------------------

    /**
     * Issue 11 §2: "a body after a HEAD / 204 / 304 ... the stray bytes never reach another client". The backend
     * sends a bodyless response whose head declares a body, then, 300 ms later, the body it should not have
     * sent, which happens to be a whole HTTP response. Such a connection is not pooled, so the next client's
     * request cannot land on it.
     */
    @ParameterizedTest
    @ValueSource(strings = {"HEAD|200 OK|Content-Length: 47", "HEAD|200 OK|Transfer-Encoding: chunked",
            "GET|204 No Content|Content-Length: 47", "GET|304 Not Modified|Content-Length: 47",
            "GET|304 Not Modified|Transfer-Encoding: chunked"})
    void aLateBodyAfterABodylessResponseNeverReachesTheNextClient(String variant) throws Exception {
        String[] parts = variant.split("\\|");
        String evil = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-Req: mine\r\n\r\nevil";
        start("event-loops = 1\nupstream.keepalive-max-idle = 1", (request, conn) -> {
            if (request.target().equals("/first")) {
                conn.takeOver((in, out) -> {
                    try {
                        Thread.sleep(300);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    out.write(bytes(evil)); // the forbidden body, late
                    out.flush();
                    in.readAllBytes();
                });
                return bytes("HTTP/1.1 " + parts[1] + "\r\n" + parts[2] + "\r\n\r\n");
            }
            return RecordingBackend.echo(request, conn);
        });
        boolean head = parts[0].equals("HEAD");
        try (RawHttp raw = RawHttp.connect(fixture.address(), 10_000)) {
            raw.send(parts[0] + " /first HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            assertThat(raw.response(head).status()).isLessThan(400);
        }
        List<HttpWire.Message> next = send("GET /next HTTP/1.1\r\nHost: x\r\nX-Req: mine\r\n"
                + "Connection: close\r\n\r\n");
        assertThat(next).hasSize(1);
        assertThat(next.get(0).bodyText()).as("the victim's answer is its own").isEqualTo("GET /next body=0\n");
    }

    // ---------------------------------------------------------------------------------------------------
    // An early 413 and the close that follows it.
    // ---------------------------------------------------------------------------------------------------

    /**
     * The gateway answers 413 at the head and closes while the client is still sending its body. RFC 9112 §9.6:
     * an immediate close with unread input makes the kernel send a reset, which can destroy the response
     * before the client reads it; servers half-close and drain ("lingering close"). The client here writes its
     * body as any simple client does, then reads: it must see the 413.
     */
    @Test
    void heldAnEarly413SurvivesTheClientStillSending() throws Exception {
        start("max-request-body-size = 1KiB");
        try (RawHttp raw = RawHttp.connect(fixture.address(), 10_000)) {
            raw.send("POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\n");
            byte[] piece = new byte[64 * 1024];
            try {
                for (int i = 0; i < 60; i++) {
                    raw.socket().getOutputStream().write(piece);
                }
            } catch (IOException reset) {
                // the gateway closed: now read its answer
            }
            String head;
            try {
                head = raw.readHead();
            } catch (IOException reset) {
                head = "reset before the status line: " + reset.getMessage();
            }
            assertThat(head).startsWith("HTTP/1.1 413 ");
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // HTTP/1.0 responses with two different Content-Length values.
    // ---------------------------------------------------------------------------------------------------

    /**
     * RFC 9112 §6.3 rule 5: a proxy that receives a response with an invalid Content-Length MUST close the
     * server connection, discard the response and answer 502. ResponseDesyncIntegrationTest holds this for
     * HTTP/1.1; Netty skips the duplicate check for HTTP/1.0 and takes the first value.
     */
    @Test
    void anHttp10ResponseWithTwoDifferentContentLengthsIsA502() throws Exception {
        start("event-loops = 1\nupstream.keepalive-max-idle = 1", (request, conn) -> request.target().equals("/first")
                ? bytes("HTTP/1.0 200 OK\r\nContent-Length: 2\r\nContent-Length: 4\r\nConnection: keep-alive\r\n"
                        + "X-Req: first\r\n\r\nokay")
                : RecordingBackend.echo(request, conn));
        List<HttpWire.Message> first = send("GET /first HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        assertThat(first).as("the first value (2) was taken, the body cut to %s",
                first.isEmpty() ? "?" : first.get(0).bodyText())
                .extracting(HttpWire.Message::status).containsExactly(502);
    }

    // ---------------------------------------------------------------------------------------------------
    // A WebSocket client that half-closes before the 101 arrives.
    // ---------------------------------------------------------------------------------------------------

    private static final String KEY = "dGhlIHNhbXBsZSBub25jZQ==";
    private static final String ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
    private static final String UPGRADE = "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            + "Sec-WebSocket-Key: " + KEY + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    private static final String SWITCH = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            + "Connection: Upgrade\r\nSec-WebSocket-Accept: " + ACCEPT + "\r\n\r\n";

    /**
     * Issue 11 §5: bytes a client sends after its upgrade request and before the 101 are held and relayed, and
     * a half-close is relayed as a FIN. The client sends the upgrade, its last frame and its FIN at once; the
     * backend takes 300 ms to answer 101, then sends its own frame and reads to the end.
     */
    @ParameterizedTest
    @EnumSource(TransportKind.class)
    void aClientFinBeforeThe101IsRelayedAfterIt(TransportKind transport) throws Exception {
        CompletableFuture<String> afterSwitch = new CompletableFuture<>();
        backend = closer.track(RecordingBackend.start((request, conn) -> {
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            conn.takeOver((in, out) -> {
                out.write(bytes("from the backend"));
                out.flush();
                afterSwitch.complete(new String(in.readAllBytes(), StandardCharsets.ISO_8859_1));
            });
            return bytes(SWITCH);
        }));
        fixture = closer.track(GatewayFixture.start(transport, 0, b ->
                "clusters { app { backends = [\"" + backend.hostPort() + "\"] } }\nroutes = [ { cluster = app } ]\n"));
        try (RawHttp raw = RawHttp.connect(fixture.address(), 10_000)) {
            raw.send(UPGRADE + "last frame");
            raw.halfClose();
            String all;
            try {
                all = raw.readUntilClose();
            } catch (IOException reset) {
                all = "reset";
            }
            assertThat(all).as("what the client got (client-closed problems: %d)",
                    fixture.gateway().problems().count(Problem.CLIENT_CLOSED))
                    .startsWith("HTTP/1.1 101 ").endsWith("from the backend");
        }
        assertThat(afterSwitch.get(10, TimeUnit.SECONDS)).isEqualTo("last frame");
    }

    // ---------------------------------------------------------------------------------------------------
    // Routing fields in a request's trailer section.
    // ---------------------------------------------------------------------------------------------------

    /**
     * RFC 9110 §6.5.1: fields for routing (Host), authentication and request modifiers cannot be processed as
     * trailers; a recipient must not merge them into the header section. Netty drops only Content-Length,
     * Transfer-Encoding and Trailer from a trailer section; the gateway forwards the rest as received, so a
     * backend (or framework) that merges trailers sees a second Host, after the gateway routed on the first.
     */
    @Test
    void aHostInATrailerIsNotForwarded() throws Exception {
        start("");
        List<HttpWire.Message> responses = send("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                + "Connection: close\r\n\r\n5\r\nhello\r\n0\r\nHost: admin.internal\r\n\r\n");

        if (responses.get(0).status() == 200) {
            RecordingBackend.Request seen = backend.requests().get(0);
            assertThat(seen.message().trailers()).extracting(HttpWire.Field::name)
                    .as("trailers forwarded").doesNotContain("Host");
        } else {
            assertThat(responses).extracting(HttpWire.Message::status).containsExactly(400);
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // The framing header the backend gets is the client's text, not the gateway's.
    // ---------------------------------------------------------------------------------------------------

    /**
     * Issue 11 §1: "framing is the gateway's own, never the peer's words". The gateway decodes the chunked body
     * and re-chunks it itself, yet forwards the client's own spelling of the framing headers: a backend that
     * matches "chunked" case-sensitively (non-compliant, but common in hand-written parsers) reads no body and
     * takes the chunks for the next request. The gateway knows the framing; it should write it canonically.
     */
    @Test
    void framingHeadersReachTheBackendInTheGatewaysOwnWords() throws Exception {
        start("");
        send("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: CHUNKED\r\nConnection: close\r\n\r\n"
                + "5\r\nhello\r\n0\r\n\r\n");
        send("POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 0005\r\nConnection: close\r\n\r\nhello");

        assertThat(backend.requests()).extracting(r -> r.header("Transfer-Encoding") + "/" + r.header("Content-Length"))
                .containsExactly("chunked/null", "null/5");
    }

    // ---------------------------------------------------------------------------------------------------
    // What held (kept as regression tests).
    // ---------------------------------------------------------------------------------------------------

    /** h2c upgrade smuggling: Upgrade, Connection and HTTP2-Settings never reach the backend; a 101 is a 502. */
    @Test
    void heldH2cUpgradeIsStripped() throws Exception {
        start("", (request, conn) -> bytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n"
                + "Connection: Upgrade\r\n\r\n"));
        List<HttpWire.Message> responses = send("GET /a HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\n"
                + "Connection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n");

        assertThat(responses).extracting(HttpWire.Message::status).containsExactly(502);
        RecordingBackend.Request seen = backend.requests().get(0);
        assertThat(seen.header("Upgrade")).isNull();
        assertThat(seen.header("HTTP2-Settings")).isNull();
    }

    /** A backend that closes mid-body: the client sees a cut message and a close, the next client a fresh one. */
    @Test
    void heldABackendClosingMidBodyCutsTheClientAndIsNotReused() throws Exception {
        start("event-loops = 1\nupstream.keepalive-max-idle = 1", (request, conn) -> {
            if (request.target().equals("/first")) {
                conn.takeOver((in, out) -> { }); // then closes
                return bytes("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..");
            }
            return RecordingBackend.echo(request, conn);
        });
        try (RawHttp raw = RawHttp.connect(fixture.address(), 10_000)) {
            raw.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n");
            String all;
            try {
                all = raw.readUntilClose();
            } catch (IOException reset) {
                all = "";
            }
            assertThat(all).doesNotContain("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n");
        }
        List<HttpWire.Message> next = send("GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertThat(next.get(0).header("X-Conn")).isEqualTo("2");
    }

    /** A response whose Connection names Transfer-Encoding: kept framing, client closed, backend not reused. */
    @Test
    void heldAResponseConnectionNamingTransferEncodingClosesBothSides() throws Exception {
        start("event-loops = 1\nupstream.keepalive-max-idle = 1", (request, conn) -> request.target().equals("/first")
                ? bytes("HTTP/1.1 200 OK\r\nConnection: keep-alive, Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n"
                        + "\r\n4\r\nabcd\r\n0\r\n\r\n")
                : RecordingBackend.echo(request, conn));
        try (RawHttp raw = RawHttp.connect(fixture.address(), 10_000)) {
            raw.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n");
            HttpWire.Message response = raw.response();
            assertThat(response.bodyText()).isEqualTo("abcd");
            assertThat(response.header("Connection")).isEqualToIgnoringCase("close");
            assertThat(raw.closedByPeer()).isTrue();
        }
        List<HttpWire.Message> next = send("GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertThat(next.get(0).header("X-Conn")).isEqualTo("2");
    }

    /** Expect: 100-continue with two 100s before the final response: both relayed, the body then follows. */
    @Test
    void heldTwoInterimResponsesAreRelayed() throws Exception {
        RawBackend raw = closer.track(new RawBackend((id, in, out) -> {
            readHead(in);
            out.write(bytes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"));
            out.flush();
            byte[] body = in.readNBytes(5);
            out.write(bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" + new String(body, StandardCharsets.ISO_8859_1)));
            out.flush();
            in.readAllBytes();
        }));
        fixture = closer.track(GatewayFixture.start(TRANSPORT, 0, b -> "clusters { app { backends = [\""
                + raw.hostPort() + "\"] } }\nroutes = [ { cluster = app } ]\n"));
        try (RawHttp client = RawHttp.connect(fixture.address(), 10_000)) {
            client.send("POST /a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
            assertThat(client.response().status()).isEqualTo(100);
            assertThat(client.response().status()).isEqualTo(100);
            client.send("hello");
            HttpWire.Message response = client.response();
            assertThat(response.status()).isEqualTo(200);
            assertThat(response.bodyText()).isEqualTo("hello");
        }
    }

    /**
     * Many one-byte chunks to a backend that reads nothing: every piece becomes three outbound buffers, but the
     * gateway stops reading once the backend connection is unwritable, so what it holds stays bounded.
     */
    @Test
    void heldTinyChunksToAStalledBackendStayBounded() throws Exception {
        CompletableFuture<Void> release = new CompletableFuture<>();
        RawBackend raw = closer.track(new RawBackend((id, in, out) -> {
            readHead(in);
            try {
                release.get(30, TimeUnit.SECONDS); // reads nothing meanwhile
            } catch (Exception e) {
                // go on
            }
        }));
        fixture = closer.track(GatewayFixture.start(TRANSPORT, 0, b -> "body-timeout = off\n"
                + "clusters { app { backends = [\"" + raw.hostPort() + "\"] } }\nroutes = [ { cluster = app } ]\n"));
        long before = usedDirect();
        long peak = before;
        try (Socket socket = new Socket()) {
            socket.connect(fixture.address(), 5000);
            socket.setSoTimeout(5000);
            OutputStream out = socket.getOutputStream();
            out.write(bytes("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
            byte[] piece = bytes("1\r\na\r\n".repeat(10_000));
            Thread writer = new Thread(() -> {
                try {
                    for (int i = 0; i < 100; i++) {
                        out.write(piece); // 6 MB of one-byte chunks, as far as the gateway lets it go
                    }
                } catch (IOException e) {
                    // closed at the end
                }
            });
            writer.setDaemon(true);
            writer.start();
            for (int i = 0; i < 30; i++) {
                Thread.sleep(100);
                peak = Math.max(peak, usedDirect());
            }
            release.complete(null);
        }
        System.out.println("tiny chunks: peak direct memory " + ((peak - before) >> 10) + " KiB above the start");
        assertThat((peak - before) >> 20).as("MiB of direct memory held for one stalled upload").isLessThan(64);
    }

    private static long usedDirect() {
        return ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider metrics
                ? metrics.metric().usedDirectMemory() : 0;
    }

    /** A head trickled a byte at a time on a kept-alive connection still gets header-timeout's 408. */
    @Test
    void heldATrickledSecondHeadGets408() throws Exception {
        start("header-timeout = 1s\nidle-timeout = 20s");
        try (RawHttp raw = RawHttp.connect(fixture.address(), 15_000)) {
            raw.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(raw.response().status()).isEqualTo(200);
            String head = "GET /2 HTTP/1.1\r\nHost: x\r\nX-Pad: " + "a".repeat(200) + "\r\n\r\n";
            long started = System.nanoTime();
            try {
                for (char c : head.toCharArray()) {
                    raw.send(String.valueOf(c));
                    Thread.sleep(50);
                }
            } catch (IOException closed) {
                // answered and closed
            }
            assertThat(raw.readHead()).startsWith("HTTP/1.1 408 ");
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
        }
        assertThat(backend.requests()).extracting(RecordingBackend.Request::target).containsExactly("/1");
    }

    /** RFC 9110 §7.8: Upgrade in an HTTP/1.0 request is ignored: not forwarded, and a 101 to it is a 502. */
    @Test
    void heldAnHttp10UpgradeIsNotForwarded() throws Exception {
        start("", (request, conn) -> bytes(SWITCH));
        List<HttpWire.Message> responses = send(UPGRADE.replace("HTTP/1.1", "HTTP/1.0") + "frame");

        assertThat(responses).extracting(HttpWire.Message::status).containsExactly(502);
        RecordingBackend.Request seen = backend.requests().get(0);
        assertThat(seen.header("Upgrade")).isNull();
        assertThat(seen.header("Connection")).isNull();
    }

    /** Framing names in a trailer are dropped; chunk sizes with leading zeros and extensions are re-framed. */
    @Test
    void heldTrailersAndOddChunkLinesAreReframed() throws Exception {
        start("");
        List<HttpWire.Message> responses = send("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                + "Connection: close\r\n\r\n"
                + "00000000000000000000005;a=b\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n"
                + "Content-Length: 35\r\nX-T: 1\r\n\r\n");

        assertThat(responses).extracting(HttpWire.Message::status).containsExactly(200);
        RecordingBackend.Request seen = backend.requests().get(0);
        assertThat(seen.body()).isEqualTo("hello");
        assertThat(seen.message().trailers()).extracting(HttpWire.Field::name).containsExactly("X-T");
        assertThat(backend.received().get(0)).doesNotContain("0000000000").doesNotContain(";a=b");
    }

    /**
     * Expect: 100-continue answered by a final status before the body (RFC 9110 §10.1.1): the client is told
     * to close, and the backend connection, whose request is unfinished, is not reused for the next client.
     */
    @Test
    void heldAnEarlyFinalStatusIsNotFollowedByReuse() throws Exception {
        RawBackend raw = closer.track(new RawBackend((id, in, out) -> {
            if (id == 1) {
                readHead(in);
                out.write(bytes("HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n"));
                out.flush();
                in.readAllBytes(); // and keeps the connection for as long as the gateway does
            } else {
                readHead(in);
                out.write(bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Conn: " + id + "\r\n\r\nfresh"));
                out.flush();
                in.readAllBytes();
            }
        }));
        fixture = closer.track(GatewayFixture.start(TRANSPORT, 0, b -> "event-loops = 1\nupstream.keepalive-max-idle = 1\n"
                + "clusters { app { backends = [\"" + raw.hostPort() + "\"] } }\nroutes = [ { cluster = app } ]\n"));
        try (RawHttp client = RawHttp.connect(fixture.address(), 10_000)) {
            client.send("POST /a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
            HttpWire.Message response = client.response();
            assertThat(response.status()).isEqualTo(417);
            assertThat(response.header("Connection")).isEqualToIgnoringCase("close");
        }
        List<HttpWire.Message> next = send("GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertThat(next).extracting(m -> m.header("X-Conn")).containsExactly("2");
    }

    // ---------------------------------------------------------------------------------------------------
    // A backend of raw sockets, for answers HttpWire's request loop cannot give (before the body).
    // ---------------------------------------------------------------------------------------------------

    @FunctionalInterface
    interface ConnScript {
        void run(int id, InputStream in, OutputStream out) throws IOException;
    }

    /** Reads a request head (through the empty line) and returns it. */
    static String readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("closed in a head: " + head);
            }
            head.append((char) b);
        }
        return head.toString();
    }

    static final class RawBackend implements AutoCloseable {
        private final ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        private final List<Socket> sockets = new CopyOnWriteArrayList<>();

        RawBackend(ConnScript script) throws IOException {
            Thread acceptor = new Thread(() -> {
                int id = 0;
                try {
                    while (true) {
                        Socket socket = server.accept();
                        sockets.add(socket);
                        int connId = ++id;
                        Thread t = new Thread(() -> {
                            try (socket) {
                                script.run(connId, socket.getInputStream(), socket.getOutputStream());
                            } catch (IOException e) {
                                // reset or closed
                            }
                        });
                        t.setDaemon(true);
                        t.start();
                    }
                } catch (IOException closed) {
                    // done
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
        }

        String hostPort() {
            return "127.0.0.1:" + server.getLocalPort();
        }

        int connections() {
            return sockets.size();
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket socket : sockets) {
                socket.close();
            }
        }
    }
}
