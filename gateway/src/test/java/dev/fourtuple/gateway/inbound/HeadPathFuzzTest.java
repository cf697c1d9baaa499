package dev.fourtuple.gateway.inbound;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.DictionaryFile;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.fourtuple.gateway.config.Limits;
import dev.fourtuple.gateway.testing.HttpWire;
import dev.fourtuple.gateway.upstream.UpstreamDecoding;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Coverage-guided fuzzing (Jazzer) of the two head paths with the gateway's own classes, in memory.
 *
 * <p><b>Requests</b>: client bytes go through {@link FrontendRequestDecoder}, {@link RequestRules} and
 * {@link ProxyHeaders#prepareRequest}, one request at a time as the proxy handler takes them; each accepted,
 * complete request is re-encoded as it would be sent upstream and parsed again by {@link HttpWire}, a parser
 * written apart from Netty's. The invariant: the backend parses exactly the requests the gateway accepted, each
 * to its end and no further, with the same method, target and body, one Host, and no hop-by-hop header that
 * could change its framing. <b>Responses</b>: backend bytes go through the upstream response decoder and
 * {@link ProxyHeaders#prepareResponse} as an exchange uses them, then the client-side encoder; the client's
 * parse must give the same responses and body, self-delimited whenever the client connection stays open; and
 * when the gateway would pool the backend connection, the independent parser must agree that the backend's
 * bytes ended exactly there.
 *
 * <p>In {@code mvn verify} it runs for about 30 s in its own surefire execution (JAZZER_FUZZ=1); without that
 * it replays its seeds and past findings as a regression test. Longer runs: {@code benchmarks/fuzz.sh}.
 */
class HeadPathFuzzTest {
    private static final Limits LIMITS = new Limits(1024, 4096, 1 << 20, 0);
    private static final InetSocketAddress CLIENT = new InetSocketAddress("192.0.2.7", 40000);
    private static final InetSocketAddress LOCAL = new InetSocketAddress("127.0.0.1", 8080);
    private static final int MAX_INTERIM = 16;

    @FuzzTest(maxDuration = "30s")
    @DictionaryFile(resourcePath = "http.dict")
    void fuzz(FuzzedDataProvider data) throws IOException {
        if (data.consumeBoolean()) {
            responses(data.consumeBoolean(), data.consumeRemainingAsBytes());
        } else {
            requests(data.consumeRemainingAsBytes());
        }
    }

    // ---- requests ----

    private static void requests(byte[] clientBytes) throws IOException {
        FrontendRequestDecoder decoder = FrontendRequestDecoder.create(LIMITS);
        EmbeddedChannel channel = new EmbeddedChannel(decoder);
        List<Object> held = new ArrayList<>();
        ByteArrayOutputStream upstream = new ByteArrayOutputStream();
        List<Expected> expected = new ArrayList<>();
        try {
            channel.writeInbound(Unpooled.wrappedBuffer(clientBytes));
            while (true) {
                Object first = channel.readInbound();
                if (!(first instanceof HttpRequest request)) {
                    ReferenceCountUtil.release(first);
                    break; // nothing more decoded (the rest is incomplete)
                }
                held.add(request);
                if (request.decoderResult().isFailure() || RequestRules.check(request) != null) {
                    break; // answered 400/501/505 and closed: nothing of it is forwarded
                }
                ProxyHeaders.prepareRequest(request, CLIENT, LOCAL, WebSocketHandshake.isUpgrade(request), false);
                ByteArrayOutputStream body = new ByteArrayOutputStream();
                boolean complete = false;
                boolean broken = false;
                Object piece;
                while (!complete && (piece = channel.readInbound()) != null) {
                    held.add(piece);
                    HttpContent content = (HttpContent) piece;
                    if (content.decoderResult().isFailure()) {
                        broken = true; // the exchange is cut: the backend connection is reset, never reused
                        break;
                    }
                    body.write(ByteBufUtil.getBytes(content.content()));
                    complete = content instanceof LastHttpContent;
                }
                if (broken || !complete) {
                    break; // a cut or unfinished body: the backend connection goes with it
                }
                byte[] encoded = encodeRequest(held);
                upstream.write(encoded);
                expected.add(new Expected(request.method().name(), request.uri(), body.toByteArray()));
                checkForwarded(encoded, expected.get(expected.size() - 1));
                releaseAll(held);
                decoder.resume(); // the exchange ended: the next request, if any, is decoded now
            }
            // What one backend connection receives, in order, must parse to exactly the accepted requests.
            ByteArrayInputStream stream = new ByteArrayInputStream(upstream.toByteArray());
            for (Expected one : expected) {
                check(sameRequest(HttpWire.readRequest(stream), one), "backend parse differs at " + one);
            }
            check(stream.available() == 0, "bytes past the last request on the backend connection");
        } finally {
            releaseAll(held);
            channel.finishAndReleaseAll();
        }
    }

    private record Expected(String method, String target, byte[] body) {
        @Override
        public String toString() {
            return method + " " + target + " (" + body.length + " body bytes)";
        }
    }

    private static void checkForwarded(byte[] encoded, Expected expected) throws IOException {
        ByteArrayInputStream stream = new ByteArrayInputStream(encoded);
        HttpWire.Message parsed;
        try {
            parsed = HttpWire.readRequest(stream);
        } catch (IOException e) {
            throw new AssertionError("forwarded request does not parse: " + e.getMessage() + "\n"
                    + HttpWire.printable(new String(encoded, java.nio.charset.StandardCharsets.ISO_8859_1)), e);
        }
        check(sameRequest(parsed, expected), "forwarded " + expected + " parsed as something else");
        check(stream.available() == 0, "bytes past the end of forwarded " + expected);
        check(parsed != null && parsed.headers("Host").size() == 1, "forwarded without exactly one Host");
        for (String connection : parsed.headers("Connection")) {
            check(connection.equalsIgnoreCase("upgrade"), "a Connection option survived: " + connection);
        }
    }

    private static boolean sameRequest(HttpWire.Message parsed, Expected expected) {
        return parsed != null && parsed.first().equals(expected.method()) && parsed.second().equals(expected.target())
                && parsed.third().equals("HTTP/1.1") && Arrays.equals(parsed.body(), expected.body());
    }

    private static byte[] encodeRequest(List<Object> pieces) {
        EmbeddedChannel encoder = new EmbeddedChannel(new HttpRequestEncoder());
        for (Object piece : pieces) {
            encoder.writeOutbound(ReferenceCountUtil.retain(piece));
        }
        return drainOutbound(encoder);
    }

    // ---- responses ----

    private static void responses(boolean toHead, byte[] backendBytes) throws IOException {
        HttpMethod method = toHead ? HttpMethod.HEAD : HttpMethod.GET;
        FrontendResponseEncoder encoder = new FrontendResponseEncoder();
        encoder.respondingTo(method);
        EmbeddedChannel client = new EmbeddedChannel(encoder);
        List<HttpObject> decoded = new ArrayList<>();
        try (UpstreamDecoding upstream = UpstreamDecoding.expecting(method)) {
            decoded.addAll(upstream.feed(backendBytes));
            Relay relay = relay(decoded, client, toHead);
            boolean completeBeforeClose = relay.complete;
            if (!relay.complete && !relay.refused) {
                decoded.addAll(upstream.backendCloses()); // the backend closes: a close-delimited body ends here
                relay = relay(decoded, client, toHead);
            }
            if (relay.refused || !relay.complete) {
                return; // 502, or the client connection is cut: nothing to compare
            }
            boolean pooled = completeBeforeClose && !relay.reuseForbidden && upstream.clean();
            byte[] toClient = drainOutbound(client);
            List<HttpWire.Message> seen = HttpWire.readResponses(new ByteArrayInputStream(toClient), toHead);
            check(seen.size() == relay.statuses.size(), "the client parsed " + seen.size() + " responses, "
                    + relay.statuses.size() + " were relayed");
            for (int i = 0; i < seen.size(); i++) {
                check(seen.get(i).status() == relay.statuses.get(i), "status " + i + " changed on the way");
            }
            HttpWire.Message last = seen.get(seen.size() - 1);
            // RFC 9110 §15.3.6: no content in a 205; the encoder sends it with Content-Length: 0
            byte[] expectedBody = last.status() == 205 ? new byte[0] : relay.body.toByteArray();
            check(Arrays.equals(last.body(), expectedBody), "the client's body differs");
            if (!relay.closeAfter) {
                boolean bodyless = toHead || last.status() == 204 || last.status() == 304;
                check(bodyless || last.header("Content-Length") != null || last.header("Transfer-Encoding") != null,
                        "a kept-alive client connection got a response delimited only by a close");
            }
            if (pooled) {
                agreeOnTheEnd(backendBytes, toHead, relay);
            }
        } finally {
            decoded.forEach(ReferenceCountUtil::release);
            client.finishAndReleaseAll();
        }
    }

    /** What an exchange would have relayed of the decoded pieces so far (re-run from the start each time). */
    private static final class Relay {
        boolean refused;
        boolean complete;
        boolean reuseForbidden;
        boolean closeAfter;
        final List<Integer> statuses = new ArrayList<>();
        final ByteArrayOutputStream body = new ByteArrayOutputStream();
    }

    private static Relay relay(List<HttpObject> decoded, EmbeddedChannel client, boolean toHead) {
        Relay relay = new Relay();
        int interim = 0;
        boolean inFinal = false;
        List<Object> out = new ArrayList<>();
        for (HttpObject piece : decoded) {
            if (piece.decoderResult().isFailure()) {
                relay.refused = true;
                break;
            }
            if (piece instanceof HttpResponse response) {
                int code = response.status().code();
                if (ProxyHeaders.badFraming(response) != null || code == 101 || code < 200 && ++interim > MAX_INTERIM) {
                    relay.refused = true;
                    break;
                }
                relay.statuses.add(code);
                HttpResponse head = copyHead(response); // the decoded piece stays as it came (relay runs twice)
                if (code >= 200) {
                    inFinal = true;
                    relay.reuseForbidden = ProxyHeaders.namesFraming(head.headers());
                    relay.closeAfter = ProxyHeaders.prepareResponse(head, HttpVersion.HTTP_1_1, true,
                            toHead || code == 204 || code == 304);
                } else {
                    ProxyHeaders.prepareInterim(head);
                }
                out.add(head);
            }
            if (piece instanceof HttpContent content) {
                if (inFinal) {
                    relay.body.writeBytes(ByteBufUtil.getBytes(content.content()));
                }
                out.add(content.copy());
                if (content instanceof LastHttpContent && inFinal) {
                    relay.complete = true;
                    break;
                }
            }
        }
        if (relay.complete) {
            client.writeOutbound(out.toArray());
        } else {
            out.forEach(ReferenceCountUtil::release);
        }
        return relay;
    }

    private static HttpResponse copyHead(HttpResponse response) {
        HttpResponse copy = new io.netty.handler.codec.http.DefaultHttpResponse(response.protocolVersion(),
                response.status());
        copy.headers().set(response.headers());
        return copy;
    }

    /** The pooled case: HttpWire, on the backend's own bytes, must end the response exactly where Netty did. */
    private static void agreeOnTheEnd(byte[] backendBytes, boolean toHead, Relay relay) {
        ByteArrayInputStream stream = new ByteArrayInputStream(backendBytes);
        List<HttpWire.Message> parsed = new ArrayList<>();
        try {
            for (int i = 0; i < relay.statuses.size(); i++) {
                HttpWire.Message next = HttpWire.readResponse(stream, toHead && relay.statuses.get(i) >= 200);
                if (next == null) {
                    return;
                }
                parsed.add(next);
            }
        } catch (IOException stricter) {
            return; // HttpWire is stricter than RFC 9112 allows a recipient to be: no opinion
        }
        HttpWire.Message last = parsed.get(parsed.size() - 1);
        if (last.header("Content-Length") == null && last.header("Transfer-Encoding") == null
                && !(toHead || last.status() == 204 || last.status() == 304)) {
            return; // close-delimited by HttpWire's reading: never pooled
        }
        check(stream.available() == 0, "pooled, but an independent parser sees " + stream.available()
                + " more byte(s) after the response");
        check(Arrays.equals(last.body(), relay.body.toByteArray()), "pooled, but the parsers disagree on the body");
    }

    // ---- shared ----

    private static byte[] drainOutbound(EmbeddedChannel channel) {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        Object out;
        while ((out = channel.readOutbound()) != null) {
            ByteBuf buf = (ByteBuf) out;
            all.writeBytes(ByteBufUtil.getBytes(buf));
            buf.release();
        }
        channel.finishAndReleaseAll();
        return all.toByteArray();
    }

    private static void releaseAll(List<Object> held) {
        held.forEach(ReferenceCountUtil::release);
        held.clear();
    }

    private static void check(boolean condition, String failure) {
        if (!condition) {
            throw new AssertionError(failure);
        }
    }
}
