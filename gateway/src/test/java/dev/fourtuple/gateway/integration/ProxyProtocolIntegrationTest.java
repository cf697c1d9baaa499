package dev.fourtuple.gateway.integration;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.metrics.Problem;
import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.Haproxy;
import dev.fourtuple.gateway.testing.HttpWire;
import dev.fourtuple.gateway.testing.RawHttp;
import dev.fourtuple.gateway.testing.RecordingBackend;
import dev.fourtuple.gateway.testing.TestTls;
import dev.fourtuple.gateway.transport.TransportKind;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * PROXY protocol (HAProxy's doc/proxy-protocol.txt) through real sockets: a real HAProxy in TCP mode with
 * {@code send-proxy-v2} in front of the gateway, hand-written v1 / v2 headers, and a recording backend that
 * shows what the gateway forwarded. Clients bind their own source in 127.0.0.0/8 (all of it local on Linux).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProxyProtocolIntegrationTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final int READ_TIMEOUT_MS = 10_000;
    private static final String GET = "GET /who HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    /** §2.2: the v2 signature, then version 2 with LOCAL (0x20), UNSPEC (0x00), no address bytes. */
    private static final String V2_LOCAL = "\r\n\r\n\0\r\nQUIT\n" + "\u0020\u0000\u0000\u0000";

    @RegisterExtension
    final Closer closer = new Closer();

    private RecordingBackend backend() throws IOException {
        return closer.track(RecordingBackend.start());
    }

    private GatewayFixture gateway(RecordingBackend backend, String listenerKeys, String extra) throws Exception {
        String listeners = "listeners = [ { listen = \"127.0.0.1:0\", " + listenerKeys + " } ]\n";
        return closer.track(GatewayFixture.withListeners(TransportKind.EPOLL, 0, none -> listeners + extra + "\n"
                + "clusters { app { backends = [\"" + backend.hostPort() + "\"] } }\n"
                + "routes = [ { cluster = app } ]\n"));
    }

    private static String v2From(String listenerKeys) {
        return "proxy-protocol = v2, proxy-protocol-from = [\"127.0.0.1/32\"]" + listenerKeys;
    }

    private RawHttp connect(InetSocketAddress to, String source) throws IOException {
        return closer.track(RawHttp.connect(to, InetAddress.getByName(source), READ_TIMEOUT_MS));
    }

    private static double problems(GatewayFixture fixture, Problem problem) {
        return fixture.registry().get("fourtuple.problems").tag("cause", problem.tag()).counter().count();
    }

    @Test
    void behindHaproxyTheBackendSeesTheClientsOwnAddress() throws Exception {
        RecordingBackend backend = backend();
        GatewayFixture fixture = gateway(backend, v2From(""), "");
        Haproxy haproxy = closer.track(Haproxy.tcpProxy(fixture.address(), "send-proxy-v2"));

        RawHttp client = connect(haproxy.address(), "127.0.0.77");
        HttpWire.Message response = client.send(GET).response();

        assertThat(response.status()).isEqualTo(200);
        await().atMost(WAIT).until(() -> !backend.requests().isEmpty());
        RecordingBackend.Request request = backend.requests().get(0);
        assertThat(request.header("X-Forwarded-For")).isEqualTo("127.0.0.77");
        assertThat(backend.received().get(0)).startsWith("GET /who HTTP/1.1\r\n"); // no header bytes relayed
    }

    @Test
    void aDirectConnectionWithoutAHeaderIsClosedAndNothingReachesTheBackend() throws Exception {
        RecordingBackend backend = backend();
        GatewayFixture fixture = gateway(backend, v2From(""), "");

        RawHttp client = connect(fixture.address(), "127.0.0.1");
        client.send(GET);

        assertThat(readAll(client)).as("no HTTP answer to a peer that must be a balancer").isEmpty();
        await().atMost(WAIT).until(() -> problems(fixture, Problem.PROXY_BAD_HEADER) == 1);
        assertThat(backend.connections()).isEmpty();
    }

    @Test
    void aValidHeaderFromAPeerOutsideProxyProtocolFromIsRefused() throws Exception {
        RecordingBackend backend = backend();
        GatewayFixture fixture = gateway(backend, v2From(""), "");

        String got;
        try {
            RawHttp client = connect(fixture.address(), "127.0.0.9");
            client.send(v1("10.9.9.9") + GET);
            got = readAll(client);
        } catch (java.net.SocketException reset) {
            got = ""; // reset at once: even before the client's first write or read got through
        }

        assertThat(got).isEmpty();
        await().atMost(WAIT).until(() -> problems(fixture, Problem.PROXY_UNTRUSTED) == 1);
        assertThat(backend.connections()).isEmpty();
    }

    @Test
    void aSilentConnectionIsClosedAtTheHeaderTimeout() throws Exception {
        RecordingBackend backend = backend();
        GatewayFixture fixture = gateway(backend, v2From(", proxy-protocol-timeout = 300ms"), "");

        RawHttp client = connect(fixture.address(), "127.0.0.1");
        long start = System.nanoTime();

        assertThat(client.closedByPeer()).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(200), Duration.ofSeconds(5));
        assertThat(problems(fixture, Problem.PROXY_TIMEOUT)).isEqualTo(1);
    }

    @Test
    void aLocalCommandConnectionWorksAsAPlainOneWithItsRealPeerAddress() throws Exception {
        RecordingBackend backend = backend();
        GatewayFixture fixture = gateway(backend, v2From(""), "");

        RawHttp client = connect(fixture.address(), "127.0.0.1");
        HttpWire.Message response = client.send(V2_LOCAL + GET).response();

        assertThat(response.status()).isEqualTo(200);
        assertThat(backend.requests().get(0).header("X-Forwarded-For")).isEqualTo("127.0.0.1");
    }

    @Test
    void aV1HeaderOnAV2OnlyListenerIsRefusedAndAcceptedOnAV1One() throws Exception {
        RecordingBackend backend = backend();
        GatewayFixture v2Only = gateway(backend, v2From(""), "");

        RawHttp refused = connect(v2Only.address(), "127.0.0.1");
        refused.send(v1("10.1.2.3") + GET);

        assertThat(readAll(refused)).isEmpty();
        await().atMost(WAIT).until(() -> problems(v2Only, Problem.PROXY_BAD_HEADER) == 1);
        assertThat(backend.connections()).isEmpty();

        GatewayFixture v1 = gateway(backend, "proxy-protocol = v1, proxy-protocol-from = [\"127.0.0.0/8\"]", "");
        RawHttp accepted = connect(v1.address(), "127.0.0.1");
        assertThat(accepted.send(v1("10.1.2.3") + GET).response().status()).isEqualTo(200);
        assertThat(backend.requests().get(0).header("X-Forwarded-For")).isEqualTo("10.1.2.3");
    }

    @Test
    void perClientLimitsCountTheHeadersAddressNotTheBalancers() throws Exception {
        RecordingBackend backend = backend();
        GatewayFixture fixture = gateway(backend, "proxy-protocol = any, proxy-protocol-from = [\"127.0.0.1\"]",
                "admission.per-client.max-connections = 1\nheader-timeout = 1m");

        RawHttp first = connect(fixture.address(), "127.0.0.1").send(v1("10.1.1.1")); // held open, no request yet
        await().atMost(WAIT).until(() -> fixture.registry().get("fourtuple.admission.client.table.live").gauge()
                .value() == 1);
        RawHttp other = connect(fixture.address(), "127.0.0.1");
        assertThat(other.send(v1("10.1.1.2") + GET).response().status())
                .as("another header address is another client, though the peer is the same").isEqualTo(200);
        RawHttp again = connect(fixture.address(), "127.0.0.1");
        HttpWire.Message refused = again.send(v1("10.1.1.1") + GET).response();
        assertThat(refused.status()).as("the second connection of 10.1.1.1").isEqualTo(503);
        assertThat(first.send(GET).response().status()).isEqualTo(200);
        assertThat(backend.requests()).extracting(r -> r.header("X-Forwarded-For"))
                .containsExactlyInAnyOrder("10.1.1.2", "10.1.1.1");
    }

    @Test
    void onATlsListenerTheHeaderComesBeforeTheClientHello() throws Exception {
        RecordingBackend backend = backend();
        GatewayFixture fixture = gateway(backend, v2From(", " + TestTls.tlsBlock("")).replace("v2", "v1"), "");

        RawHttp plain = connect(fixture.address(), "127.0.0.1");
        plain.send(v1("10.4.4.4")); // the header in the clear, then TLS on the same connection
        try (SSLSocket tls = (SSLSocket) TestTls.clientContext().getSocketFactory().createSocket(plain.socket(),
                TestTls.HOST, fixture.address().getPort(), true)) {
            tls.setSoTimeout(READ_TIMEOUT_MS);
            tls.getOutputStream().write(bytes(GET));
            tls.getOutputStream().flush();
            String response = new String(tls.getInputStream().readAllBytes(), ISO_8859_1);
            assertThat(response).startsWith("HTTP/1.1 200 ");
        }
        assertThat(backend.requests().get(0).header("X-Forwarded-For")).isEqualTo("10.4.4.4");
        assertThat(backend.requests().get(0).header("X-Forwarded-Proto")).isEqualTo("https");
    }

    /** §2.1: "PROXY TCP4 src dst sport dport\r\n". */
    private static String v1(String source) {
        return "PROXY TCP4 " + source + " 127.0.0.1 40000 80\r\n";
    }

    /** What the gateway sent before it closed (nothing, when it closed or reset at once). */
    private static String readAll(RawHttp client) throws IOException {
        try {
            return client.readUntilClose();
        } catch (java.net.SocketException reset) {
            return "";
        }
    }

    static byte[] bytes(String text) {
        return text.getBytes(ISO_8859_1);
    }
}
