package dev.fourtuple.gateway.integration;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
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
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Hostile and awkward PROXY protocol input (HAProxy's doc/proxy-protocol.txt) through real sockets: a header
 * split into one-byte segments, a header with pipelined requests behind it in one segment, a v2 header that
 * declares more than it sends, oversized TLVs, UNKNOWN. The invariant throughout: the backend parses exactly
 * the requests the gateway answered, and never a byte of the header.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProxyProtocolAttackIntegrationTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final int READ_TIMEOUT_MS = 10_000;
    private static final String GET = "GET /who HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    private static final String SIGNATURE = "\r\n\r\n\0\r\nQUIT\n";

    @RegisterExtension
    final Closer closer = new Closer();

    private GatewayFixture gateway(RecordingBackend backend, String listenerKeys) throws Exception {
        String listeners = "listeners = [ { listen = \"127.0.0.1:0\", proxy-protocol-from = [\"127.0.0.1/32\"], "
                + listenerKeys + " } ]\n";
        return closer.track(GatewayFixture.withListeners(TransportKind.EPOLL, 0, none -> listeners
                + "clusters { app { backends = [\"" + backend.hostPort() + "\"] } }\n"
                + "routes = [ { cluster = app } ]\n"));
    }

    private RawHttp connect(GatewayFixture fixture) throws IOException {
        RawHttp client = closer.track(RawHttp.connect(fixture.address(), InetAddress.getByName("127.0.0.1"),
                READ_TIMEOUT_MS));
        client.socket().setTcpNoDelay(true);
        return client;
    }

    private static double problems(GatewayFixture fixture, Problem problem) {
        return fixture.registry().get("fourtuple.problems").tag("cause", problem.tag()).counter().count();
    }

    @Test
    void aV1HeaderOneByteASegmentThenARequest() throws Exception {
        RecordingBackend backend = closer.track(RecordingBackend.start());
        GatewayFixture fixture = gateway(backend, "proxy-protocol = v1");
        RawHttp client = connect(fixture);

        trickle(client, bytes("PROXY TCP4 10.7.7.7 127.0.0.1 40000 80\r\n"));
        HttpWire.Message response = client.send(GET).response();

        assertThat(response.status()).isEqualTo(200);
        assertThat(backend.requests()).extracting(r -> r.header("X-Forwarded-For")).containsExactly("10.7.7.7");
        assertThat(backend.received().get(0)).startsWith("GET /who HTTP/1.1\r\n");
    }

    @Test
    void aV2HeaderAndTheRequestOneByteASegment() throws Exception {
        RecordingBackend backend = closer.track(RecordingBackend.start());
        GatewayFixture fixture = gateway(backend, "proxy-protocol = v2");
        RawHttp client = connect(fixture);

        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.write(v2Tcp4(new byte[] {10, 8, 8, 8}, new byte[0]));
        all.write(bytes(GET));
        trickle(client, all.toByteArray());

        assertThat(client.response().status()).isEqualTo(200);
        assertThat(backend.requests()).extracting(r -> r.header("X-Forwarded-For")).containsExactly("10.8.8.8");
    }

    @Test
    void pipelinedRequestsInTheHeadersSegmentAreAllAnsweredAndForwardedOnce() throws Exception {
        RecordingBackend backend = closer.track(RecordingBackend.start());
        GatewayFixture fixture = gateway(backend, "proxy-protocol = any");
        RawHttp client = connect(fixture);
        String keepAlive = "GET /a HTTP/1.1\r\nHost: t\r\n\r\n";

        client.send("PROXY TCP4 10.9.9.9 127.0.0.1 40000 80\r\n" + keepAlive + keepAlive.replace("/a", "/b")
                + GET.replace("/who", "/c"));
        List<HttpWire.Message> responses = client.responses(false, false, false);

        assertThat(responses).extracting(HttpWire.Message::status).containsExactly(200, 200, 200);
        assertThat(backend.requests()).extracting(RecordingBackend.Request::target)
                .containsExactly("/a", "/b", "/c");
        assertThat(backend.requests()).extracting(r -> r.header("X-Forwarded-For")).containsOnly("10.9.9.9");
    }

    @Test
    void aV2HeaderThatDeclaresMoreThanItSendsIsClosedAtTheTimeout() throws Exception {
        RecordingBackend backend = closer.track(RecordingBackend.start());
        GatewayFixture fixture = gateway(backend, "proxy-protocol = v2, proxy-protocol-timeout = 300ms");
        RawHttp client = connect(fixture);

        byte[] header = v2Tcp4(new byte[] {10, 1, 1, 1}, new byte[200]); // declares 12 + 200 address bytes
        OutputStream out = client.socket().getOutputStream();
        out.write(header, 0, 16 + 12 + 50); // then silence
        out.flush();
        long start = System.nanoTime();

        assertThat(client.closedByPeer()).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        await().atMost(WAIT).until(() -> problems(fixture, Problem.PROXY_TIMEOUT) == 1);
        assertThat(backend.connections()).isEmpty();
    }

    @Test
    void aV2HeaderWithTlvsOverTheLimitIsRefused() throws Exception {
        RecordingBackend backend = closer.track(RecordingBackend.start());
        GatewayFixture fixture = gateway(backend, "proxy-protocol = v2");
        RawHttp client = connect(fixture);

        byte[] tlvs = noop(20_000);
        client.socket().getOutputStream().write(concat(v2Tcp4(new byte[] {10, 2, 2, 2}, tlvs), bytes(GET)));

        assertThat(readAll(client)).isEmpty();
        await().atMost(WAIT).until(() -> problems(fixture, Problem.PROXY_BAD_HEADER) == 1);
        assertThat(backend.connections()).isEmpty();
    }

    @Test
    void aV2HeaderWithTlvsWithinTheLimitIsAcceptedAndTheyAreNotForwarded() throws Exception {
        RecordingBackend backend = closer.track(RecordingBackend.start());
        GatewayFixture fixture = gateway(backend, "proxy-protocol = v2");
        RawHttp client = connect(fixture);

        client.socket().getOutputStream().write(concat(v2Tcp4(new byte[] {10, 3, 3, 3}, noop(1000)), bytes(GET)));

        assertThat(client.response().status()).isEqualTo(200);
        assertThat(backend.requests()).extracting(r -> r.header("X-Forwarded-For")).containsExactly("10.3.3.3");
        assertThat(backend.received().get(0)).startsWith("GET /who HTTP/1.1\r\n");
    }

    @Test
    void aV1UnknownHeaderKeepsTheBalancersAddress() throws Exception {
        RecordingBackend backend = closer.track(RecordingBackend.start());
        GatewayFixture fixture = gateway(backend, "proxy-protocol = v1");
        RawHttp client = connect(fixture);

        // §2.1: "PROXY UNKNOWN" may be followed by anything up to the CRLF, which the receiver must ignore.
        HttpWire.Message response = client.send("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n" + GET).response();

        assertThat(response.status()).isEqualTo(200);
        assertThat(backend.requests()).extracting(r -> r.header("X-Forwarded-For")).containsExactly("127.0.0.1");
    }

    @Test
    void aSecondHeaderInsideTheStreamIsNotTrusted() throws Exception {
        RecordingBackend backend = closer.track(RecordingBackend.start());
        GatewayFixture fixture = gateway(backend, "proxy-protocol = v1");
        RawHttp client = connect(fixture);

        // The balancer's header, then a client that sends its own header as if it were one more hop.
        client.send("PROXY TCP4 10.5.5.5 127.0.0.1 40000 80\r\nPROXY TCP4 6.6.6.6 127.0.0.1 1 80\r\n" + GET);

        String got = readAll(client);
        assertThat(got).doesNotContain("HTTP/1.1 200");
        assertThat(backend.requests()).isEmpty();
    }

    /** §2.2: a v2 PROXY TCP4 header: 16 bytes, then the 12 address bytes, then {@code rest} (TLVs). */
    private static byte[] v2Tcp4(byte[] source, byte[] rest) {
        int length = 12 + rest.length;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(bytes(SIGNATURE));
        out.write(0x21); // version 2, PROXY
        out.write(0x11); // TCP over IPv4
        out.write(length >> 8);
        out.write(length);
        out.writeBytes(source);
        out.writeBytes(new byte[] {127, 0, 0, 1});
        out.write(40000 >> 8);
        out.write(40000 & 0xFF);
        out.write(0);
        out.write(80);
        out.writeBytes(rest);
        return out.toByteArray();
    }

    /** §2.2.9 PP2_TYPE_NOOP TLVs of {@code total} bytes in all. */
    private static byte[] noop(int total) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int left = total;
        while (left > 0) {
            int value = Math.min(left - 3, 60_000);
            out.write(0x04);
            out.write(value >> 8);
            out.write(value);
            out.writeBytes(new byte[value]);
            left -= 3 + value;
        }
        return out.toByteArray();
    }

    private static void trickle(RawHttp client, byte[] data) throws Exception {
        OutputStream out = client.socket().getOutputStream();
        for (byte b : data) {
            out.write(b);
            out.flush();
            Thread.sleep(2);
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] all = new byte[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    private static String readAll(RawHttp client) throws IOException {
        try {
            return client.readUntilClose();
        } catch (java.net.SocketException reset) {
            return "";
        }
    }

    private static byte[] bytes(String text) {
        return text.getBytes(ISO_8859_1);
    }
}
