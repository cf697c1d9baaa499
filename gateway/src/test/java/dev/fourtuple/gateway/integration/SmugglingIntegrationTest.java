package dev.fourtuple.gateway.integration;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fourtuple.gateway.metrics.Problem;
import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.HttpWire;
import dev.fourtuple.gateway.testing.RawHttp;
import dev.fourtuple.gateway.testing.RecordingBackend;
import dev.fourtuple.gateway.transport.TransportKind;
import java.util.ArrayList;
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
 * The request side of the front door, attacked with raw bytes, against a {@link RecordingBackend} that keeps
 * every byte it receives and parses it with its own parser. The invariant behind every case: the backend
 * parses exactly the requests the gateway answered, in the same order, and no response reaches a client it
 * was not meant for. A refused request gets its status, the connection closes, and the backend sees nothing
 * of it.
 */
@ParameterizedClass
@EnumSource(TransportKind.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SmugglingIntegrationTest {
    @Parameter
    TransportKind transport;

    @RegisterExtension
    final Closer closer = new Closer();
    private RecordingBackend backend;
    private GatewayFixture fixture;

    private void start(String extra) throws Exception {
        backend = closer.track(RecordingBackend.start());
        fixture = closer.track(GatewayFixture.inFrontOf(transport, backend, extra));
    }

    /** Sends the bytes on a fresh connection and returns every response until the gateway closes it. */
    private List<HttpWire.Message> send(String bytes, boolean... heads) throws Exception {
        try (RawHttp raw = RawHttp.connect(fixture.address(), 10_000)) {
            return raw.send(bytes).responses(heads);
        }
    }

    /** The reproduction: Connection names Content-Length, hop-by-hop removal once dropped it. */
    @Test
    void connectionNamingContentLengthIsRefusedAndNothingIsSmuggled() throws Exception {
        start("");
        List<HttpWire.Message> responses = send("POST /a HTTP/1.1\r\nHost: x\r\nConnection: content-length\r\n"
                + "Content-Length: 35\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");

        assertThat(responses).extracting(HttpWire.Message::status).containsExactly(400);
        assertThat(responses.get(0).header("Connection")).isEqualToIgnoringCase("close");
        assertThat(backend.received()).as("not one byte of it reached a backend").allMatch(String::isEmpty);
        assertThat(fixture.gateway().problems().count(Problem.BAD_REQUEST)).isEqualTo(1);
    }

    /**
     * The glued-victim variant: the attacker's body ends in an unfinished header line, so that the next client's
     * request on the same pooled backend connection would have been appended to it. One loop and one pooled
     * connection make the victim's request land on that connection if it were still there.
     */
    @Test
    void aVictimOnTheSamePoolGetsItsOwnAnswer() throws Exception {
        start("event-loops = 1\nupstream.keepalive-max-idle = 1");
        String glue = "GET /attacker HTTP/1.1\r\nHost: x\r\nX-Glue: ";
        try (RawHttp warm = RawHttp.connect(fixture.address(), 10_000)) {
            warm.send("GET /warm HTTP/1.1\r\nHost: x\r\nX-Req: warm\r\n\r\n");
            assertThat(warm.response().header("X-Req")).isEqualTo("warm"); // one pooled backend connection now
        }
        List<HttpWire.Message> attacker = send("POST /a HTTP/1.1\r\nHost: x\r\nConnection: Content-Length\r\n"
                + "Content-Length: " + glue.length() + "\r\n\r\n" + glue);
        List<HttpWire.Message> victim = send("GET /victim HTTP/1.1\r\nHost: x\r\nCookie: session=secret\r\n"
                + "X-Req: victim\r\nConnection: close\r\n\r\n");

        assertThat(attacker).extracting(HttpWire.Message::status).containsExactly(400);
        assertThat(victim).hasSize(1);
        assertThat(victim.get(0).status()).isEqualTo(200);
        assertThat(victim.get(0).header("X-Req")).isEqualTo("victim");
        assertThat(backend.requests()).extracting(RecordingBackend.Request::target)
                .containsExactly("/warm", "/victim");
        assertThat(String.join("", backend.received())).doesNotContain("/attacker").doesNotContain("X-Glue");
    }

    @ParameterizedTest
    @ValueSource(strings = {"Content-Length", "Transfer-Encoding", "Host", "close, host"})
    void connectionMayNotNameAFramingOrRoutingHeader(String named) throws Exception {
        start("");
        List<HttpWire.Message> responses = send("POST /a HTTP/1.1\r\nHost: x\r\nConnection: " + named + "\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");

        assertThat(responses).extracting(HttpWire.Message::status).containsExactly(400);
        assertThat(backend.requests()).isEmpty();
    }

    /** RFC 9112 §6.1, §6.3: every ambiguous body length is refused before a byte is forwarded. */
    @ParameterizedTest
    @ValueSource(strings = {
            "Content-Length: 5\r\nTransfer-Encoding: chunked",
            "Transfer-Encoding: chunked\r\nContent-Length: 5",
            "Content-Length: 5\r\nContent-Length: 6",
            "Content-Length: 5, 6",
            "Content-Length: +5",
            "Content-Length: 0x5",
            "Content-Length: 5 5",
            "Transfer-Encoding: chunked, chunked",
            "Transfer-Encoding: xchunked",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
            "Transfer-Encoding: gzip",
            "Transfer-Encoding: gzip, chunked",
            "Transfer-Encoding : chunked",
            "Content-Length : 5",
            " Transfer-Encoding: chunked",
            "Transfer-Encoding: \u000bchunked",
            "Content-Length: 5\u0000"})
    void ambiguousFramingIsRefused(String framing) throws Exception {
        start("");
        List<HttpWire.Message> responses = send("POST /a HTTP/1.1\r\nHost: x\r\n" + framing + "\r\n\r\n"
                + "5\r\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");

        assertThat(responses).hasSize(1);
        assertThat(responses.get(0).status()).isIn(400, 501);
        assertThat(backend.requests()).isEmpty();
        assertThat(String.join("", backend.received())).isEmpty();
    }

    @Test
    void transferEncodingInAnHttp10RequestIsRefused() throws Exception {
        start("");
        List<HttpWire.Message> responses = send("POST /a HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5\r\nhello\r\n0\r\n\r\n");

        assertThat(responses).extracting(HttpWire.Message::status).containsExactly(400); // RFC 9112 §6.1
        assertThat(backend.requests()).isEmpty();
    }

    /** RFC 9112 §2.2: a bare LF or CR is not a line ending. */
    @ParameterizedTest
    @ValueSource(strings = {
            "GET /a HTTP/1.1\nHost: x\n\n",
            "GET /a HTTP/1.1\r\nHost: x\nX: y\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: x\rX: y\r\n\r\n"})
    void bareLineEndingsAreRefused(String request) throws Exception {
        start("");
        List<HttpWire.Message> responses = send(request);

        assertThat(responses).extracting(HttpWire.Message::status).containsExactly(400);
        assertThat(backend.requests()).isEmpty();
    }

    /** A chunked body whose chunk lines are malformed ends the request with 400 and the connection. */
    @ParameterizedTest
    @ValueSource(strings = {
            "5\nhello\r\n0\r\n\r\n",
            "5\r\nhello0\r\n\r\n",
            "-5\r\nhello\r\n0\r\n\r\n",
            "5;ext=\"\r\n\"\r\nhello\r\n0\r\n\r\n",
            "fffffffffffffffff\r\nhello\r\n0\r\n\r\n",
            "5 6\r\nhello\r\n0\r\n\r\n"})
    void malformedChunksEndTheConnection(String body) throws Exception {
        start("");
        List<HttpWire.Message> responses = send("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + body + "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");

        assertThat(responses).hasSizeLessThanOrEqualTo(1);
        if (!responses.isEmpty()) {
            assertThat(responses.get(0).status()).isEqualTo(400);
        }
        assertThat(backend.requests()).as("no request completed at the backend").isEmpty();
        assertThat(String.join("", backend.received())).doesNotContain("/smuggled");
    }

    /** RFC 9112 §3.2 and RFC 9110 §7.2: Host is one valid authority; HTTP/1.1 must send it. */
    @ParameterizedTest
    @ValueSource(strings = {
            "GET /a HTTP/1.1\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: x y\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: user@x\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: x, y\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: x:99999\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: x:\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: [::1\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: x/y\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost:\r\n\r\n",
            "GET http://user:pw@x/a HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET http://x y/a HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET ftp://x/a HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET x/a HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET * HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /a\u0001b HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /\u00e9 HTTP/1.1\r\nHost: x\r\n\r\n"})
    void invalidHostsAndTargetsAreRefused(String request) throws Exception {
        start("");
        List<HttpWire.Message> responses = send(request);

        assertThat(responses).extracting(HttpWire.Message::status).containsExactly(400);
        assertThat(backend.requests()).isEmpty();
    }

    @Test
    void anAbsoluteFormTargetReplacesHost() throws Exception {
        start("");
        List<HttpWire.Message> responses = send("GET http://Target.Example:8080?q=1 HTTP/1.1\r\nHost: other\r\n"
                + "Connection: close\r\n\r\n");

        assertThat(responses).extracting(HttpWire.Message::status).containsExactly(200);
        RecordingBackend.Request seen = backend.requests().get(0);
        assertThat(seen.target()).isEqualTo("/?q=1"); // RFC 9112 §3.2.2
        assertThat(seen.header("Host")).isEqualTo("Target.Example:8080");
    }

    @Test
    void anHttp10RequestWithoutHostIsForwardedWithTheGatewaysAuthority() throws Exception {
        start("");
        List<HttpWire.Message> responses = send("GET /a HTTP/1.0\r\n\r\n");

        assertThat(responses).extracting(HttpWire.Message::status).containsExactly(200);
        RecordingBackend.Request seen = backend.requests().get(0);
        assertThat(seen.message().third()).isEqualTo("HTTP/1.1");
        assertThat(seen.header("Host")).isEqualTo("127.0.0.1:" + fixture.address().getPort());
    }

    @Test
    void connectIsNotImplementedAndNeverReachesTheBackend() throws Exception {
        start("");
        List<HttpWire.Message> responses = send("CONNECT internal.example:22 HTTP/1.1\r\nHost: internal.example:22"
                + "\r\n\r\nSSH-2.0-x\r\n");

        assertThat(responses).extracting(HttpWire.Message::status).containsExactly(501);
        assertThat(backend.connections()).as("not even a connection").isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"HTTP/2.0", "HTTP/1.2", "HTTP/0.9"})
    void otherVersionsAreNotSupported(String version) throws Exception {
        start("");
        List<HttpWire.Message> responses = send("GET /a " + version + "\r\nHost: x\r\n\r\n");

        assertThat(responses).extracting(HttpWire.Message::status).containsExactly(505); // RFC 9110 §15.6.6
        assertThat(backend.requests()).isEmpty();
    }

    @Test
    void aLowerCaseProtocolNameIsRefused() throws Exception {
        start("");
        List<HttpWire.Message> responses = send("GET /a http/1.1\r\nHost: x\r\n\r\n");

        assertThat(responses).extracting(HttpWire.Message::status).containsExactly(400); // RFC 9112 §2.3
        assertThat(backend.requests()).isEmpty();
    }

    /** Pipelined requests are answered one by one, in order; the backend parses each exactly once. */
    @Test
    void deepPipeliningIsAnsweredInOrder() throws Exception {
        start("");
        int depth = 300;
        StringBuilder pipeline = new StringBuilder();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < depth; i++) {
            ids.add("p" + i);
            pipeline.append(i % 3 == 0 ? "POST /p" + i + " HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nX-Req: p" + i
                    + "\r\n\r\nabc" : "GET /p" + i + " HTTP/1.1\r\nHost: x\r\nX-Req: p" + i + "\r\n\r\n");
        }
        pipeline.append("GET /last HTTP/1.1\r\nHost: x\r\nX-Req: last\r\nConnection: close\r\n\r\n");
        ids.add("last");
        List<HttpWire.Message> responses = send(pipeline.toString());

        assertThat(responses).extracting(r -> r.header("X-Req")).containsExactlyElementsOf(ids);
        assertThat(backend.requests()).extracting(r -> r.header("X-Req")).containsExactlyElementsOf(ids);
    }

    /** A malformed request behind good ones: the good ones are answered, then 400 and close; nothing after. */
    @Test
    void aBadRequestBehindGoodOnesEndsTheConnectionAfterThem() throws Exception {
        start("");
        List<HttpWire.Message> responses = send("GET /1 HTTP/1.1\r\nHost: x\r\nX-Req: 1\r\n\r\n"
                + "GET /2 HTTP/1.1\r\nHost: x\r\nX-Req: 2\r\n\r\n"
                + "GET /3 HTTP/1.1\r\nHost: x\r\nConnection: content-length\r\n\r\n"
                + "GET /4 HTTP/1.1\r\nHost: x\r\nX-Req: 4\r\n\r\n");

        assertThat(responses).extracting(HttpWire.Message::status).containsExactly(200, 200, 400);
        assertThat(responses).extracting(r -> r.header("X-Req")).containsExactly("1", "2", null);
        assertThat(backend.requests()).extracting(RecordingBackend.Request::target).containsExactly("/1", "/2");
    }

    /** RFC 9110 §9.3.2: a response to HEAD carries no body on the client side, even when chunked upstream. */
    @Test
    void headThenGetOnOneConnectionStaysInStep() throws Exception {
        start("");
        List<HttpWire.Message> responses = send("HEAD /h HTTP/1.1\r\nHost: x\r\nX-Req: h\r\n\r\n"
                + "GET /g HTTP/1.1\r\nHost: x\r\nX-Req: g\r\nConnection: close\r\n\r\n", true, false);

        assertThat(responses).extracting(r -> r.header("X-Req")).containsExactly("h", "g");
        assertThat(responses.get(0).body()).isEmpty();
        assertThat(responses.get(1).bodyText()).isEqualTo("GET /g body=0\n");
    }
}
