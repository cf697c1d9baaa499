package dev.fourtuple.gateway.integration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.fourtuple.gateway.demo.EchoBackend;
import dev.fourtuple.gateway.metrics.Problem;
import dev.fourtuple.gateway.metrics.ProblemLog;
import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.RawHttp;
import dev.fourtuple.gateway.testing.TestCa;
import dev.fourtuple.gateway.testing.TlsTunnelBackend;
import dev.fourtuple.gateway.testing.WebSocketProbe;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.LoggerFactory;

/**
 * TLS to backends ({@code clusters.NAME.tls}): plaintext clients through the gateway to https and wss echo
 * backends whose certificates a test CA issued. Pooling, tunnels, the FIN relay as close_notify + FIN, and
 * every way a backend certificate can fail to verify (502, one log line naming the cause).
 */
@ParameterizedClass
@EnumSource(TransportKind.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TlsBackendIntegrationTest {
    private static final TestCa CA = TestCa.create("backend root");
    private static final TestCa OTHER_CA = TestCa.create("someone else's root");

    @Parameter
    TransportKind transport;

    @RegisterExtension
    final Closer closer = new Closer();
    @TempDir
    Path dir;
    private Path root;
    private GatewayFixture fixture;
    private final HttpClient client = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    private final Logger problemLogger = (Logger) LoggerFactory.getLogger(ProblemLog.class);

    @BeforeEach
    void setUp() {
        root = CA.writeRoot(dir.resolve("root.pem"));
        logged.start();
        problemLogger.addAppender(logged);
    }

    @AfterEach
    void tearDown() {
        problemLogger.detachAppender(logged);
    }

    @Test
    void getAndPostReachAnHttpsBackendOverPooledConnections() throws Exception {
        EchoBackend backend = tlsBackend(CA.issue(dir, "backend", "localhost"));
        fixture = gateway(backend, "enabled = true, ca = \"" + root + "\", server-name = localhost");

        int requests = 10;
        for (int i = 0; i < requests; i++) {
            HttpResponse<String> response = client.send(HttpRequest.newBuilder(fixture.http("/hello/" + i)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).startsWith("backend tls: GET /hello/" + i + " HTTP/1.1\n");
        }
        byte[] body = new byte[256 * 1024];
        new Random(7).nextBytes(body);
        HttpResponse<byte[]> posted = client.send(HttpRequest.newBuilder(fixture.http("/upload"))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofByteArray());

        assertThat(posted.statusCode()).isEqualTo(200);
        assertThat(posted.body()).isEqualTo(body);
        assertThat(backend.acceptedConnections())
                .as("TLS connections the backend saw for %d requests (pooled)", requests + 1)
                .isBetween(1L, 2L);
        assertThat(fixture.gateway().upstreamMeters().connects()).isEqualTo(backend.acceptedConnections());
    }

    @Test
    void serverNameDefaultsToTheBackendHostAsWritten() throws Exception {
        InetAddress localhost = InetAddress.getByName("localhost");
        EchoBackend backend = closer.track(EchoBackend.start(new InetSocketAddress(localhost, 0), "tls", transport, 1,
                serverContext(CA.issue(dir, "backend", "localhost"))));
        fixture = closer.track(GatewayFixture.start(transport, 0, none -> String.format("""
                clusters { app { backends = ["localhost:%d"], tls { enabled = true, ca = "%s" } } }
                routes = [ { cluster = app } ]
                """, backend.address().getPort(), root)));

        HttpResponse<String> response = client.send(HttpRequest.newBuilder(fixture.http("/")).build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(200);
    }

    @Test
    void webSocketToAWssBackendEchoesOneMebibyteAndClosesBothSides() throws Exception {
        EchoBackend backend = tlsBackend(CA.issue(dir, "backend", "localhost"));
        fixture = gateway(backend, "enabled = true, ca = \"" + root + "\", server-name = localhost");
        WebSocketProbe probe = closer.track(WebSocketProbe.open(fixture.ws("/ws")));
        byte[] data = new byte[1024 * 1024];
        new Random(1).nextBytes(data);

        probe.sendBinary(data, 4096);

        assertThat(probe.awaitBytes(data.length, Duration.ofSeconds(20))).isEqualTo(data);
        assertThat(fixture.gateway().tunnelMeters().active()).isEqualTo(1);

        probe.socket().sendClose(1000, "bye").get(5, TimeUnit.SECONDS);

        assertThat(probe.closed().get(5, TimeUnit.SECONDS)).isEqualTo(1000);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(fixture.gateway().tunnelMeters().active()).isZero();
            assertThat(fixture.gateway().upstreamMeters().active()).isZero();
            assertThat(fixture.gateway().inboundMeters().active()).isZero();
            assertThat(backend.openConnections()).isZero();
        });
    }

    @Test
    void clientFinReachesATlsBackendAsCloseNotifyThenFinAndItsAnswerStillArrives() throws Exception {
        // The JDK's engine on the backend: it keeps writing after a TLS 1.3 close_notify (RFC 8446 §6.1 half-close);
        // Netty's OpenSSL engine closes its outbound side too when it reads one.
        TestCa.Issued certificate = CA.issue(dir, "backend", "backend.test");
        SslContext jdk = SslContextBuilder.forServer(certificate.cert().toFile(), certificate.key().toFile())
                .sslProvider(SslProvider.JDK).build();
        TlsTunnelBackend backend = closer.track(TlsTunnelBackend.start(jdk));
        fixture = closer.track(GatewayFixture.start(transport, 0, none -> String.format("""
                clusters { app { backends = ["%s"], tls { enabled = true, ca = "%s", server-name = backend.test } } }
                routes = [ { cluster = app } ]
                """, backend.hostPort(), root)));
        RawHttp raw = closer.track(RawHttp.connect(fixture.address(), 10_000));
        raw.send(TlsTunnelBackend.UPGRADE);
        assertThat(raw.readHead()).startsWith("HTTP/1.1 101 ");
        raw.send("ping");
        assertThat(new String(raw.readBytes(4), StandardCharsets.US_ASCII)).isEqualTo("pong");
        assertThat(backend.requestedServerNames().get(5, TimeUnit.SECONDS)).as("SNI").containsExactly("backend.test");

        raw.halfClose();

        assertThat(raw.readUntilClose()).isEqualTo(TlsTunnelBackend.GOODBYE);
        assertThat(backend.sawCloseNotifyBeforeFin().get(5, TimeUnit.SECONDS)).isTrue();
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(fixture.gateway().tunnelMeters().active()).isZero();
            assertThat(fixture.gateway().upstreamMeters().active()).isZero();
        });
    }

    @Test
    void aCertificateForAnotherNameGets502AndTheLogNamesTheCause() throws Exception {
        EchoBackend backend = tlsBackend(CA.issue(dir, "backend", "wrong.example"));
        fixture = gateway(backend, "enabled = true, ca = \"" + root + "\", server-name = localhost");

        HttpResponse<String> response = client.send(HttpRequest.newBuilder(fixture.http("/")).build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(502);
        assertThat(fixture.gateway().problems().count(Problem.BACKEND_TLS)).isEqualTo(1);
        assertThat(tlsLogLines()).singleElement().asString()
                .contains(backend.address().getPort() + "")
                .contains("server name localhost")
                .contains("No subject alternative DNS name matching localhost");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(backend.openConnections()).isZero();
            assertThat(fixture.gateway().upstreamMeters().active()).isZero();
        });
    }

    @Test
    void aCertificateFromAnotherCaGets502() throws Exception {
        EchoBackend backend = tlsBackend(OTHER_CA.issue(dir, "backend", "localhost"));
        fixture = gateway(backend, "enabled = true, ca = \"" + root + "\", server-name = localhost");

        HttpResponse<String> response = client.send(HttpRequest.newBuilder(fixture.http("/")).build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(502);
        assertThat(fixture.gateway().problems().count(Problem.BACKEND_TLS)).isEqualTo(1);
        assertThat(tlsLogLines()).singleElement().asString().containsAnyOf("PKIX path", "certification path",
                "CERTIFICATE_VERIFY_FAILED");
        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(fixture.gateway().upstreamMeters().active()).isZero());
    }

    @Test
    void verifyFalseAcceptsAnyCertificate() throws Exception {
        EchoBackend backend = tlsBackend(OTHER_CA.issue(dir, "backend", "wrong.example"));
        fixture = gateway(backend, "enabled = true, ca = \"" + root + "\", server-name = localhost, verify = false");

        HttpResponse<String> response = client.send(HttpRequest.newBuilder(fixture.http("/")).build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(fixture.gateway().problems().count(Problem.BACKEND_TLS)).isZero();
    }

    @Test
    void aPlaintextClusterAndATlsClusterOnOneBackendAddressDoNotShareConnections() throws Exception {
        EchoBackend backend = tlsBackend(CA.issue(dir, "backend", "localhost"));
        fixture = closer.track(GatewayFixture.start(transport, 0, none -> String.format("""
                clusters {
                  secure { backends = ["%1$s"], tls { enabled = true, ca = "%2$s", server-name = localhost } }
                  plain { backends = ["%1$s"] }
                }
                routes = [ { path-prefix = "/plain", cluster = plain }, { cluster = secure } ]
                """, hostPort(backend.address()), root)));

        assertThat(client.send(HttpRequest.newBuilder(fixture.http("/secure")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        // The pooled TLS connection must not carry plaintext: this request needs a connection of its own (which
        // the TLS backend then refuses, a 502), never the idle TLS one.
        int plain = client.send(HttpRequest.newBuilder(fixture.http("/plain")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode();

        assertThat(plain).isEqualTo(502);
        assertThat(backend.acceptedConnections()).isEqualTo(2);
    }

    @Test
    void aBackendThatNeverAnswersTheHandshakeGets504WithinConnectTimeout() throws Exception {
        // The kernel completes the TCP handshake from its backlog; nobody ever answers the ClientHello.
        java.net.ServerSocket silent = closer.track(new java.net.ServerSocket(0, 8, InetAddress.getLoopbackAddress()));
        fixture = closer.track(GatewayFixture.start(transport, 0, none -> String.format("""
                connect-timeout = 300ms
                clusters { app { backends = ["127.0.0.1:%d"], tls { enabled = true, ca = "%s" } } }
                routes = [ { cluster = app } ]
                """, silent.getLocalPort(), root)));
        long started = System.nanoTime();

        assertThat(get("/")).isEqualTo(504);

        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(3));
        assertThat(fixture.gateway().problems().count(Problem.CONNECT_TIMEOUT)).isGreaterThanOrEqualTo(1);
        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(fixture.gateway().upstreamMeters().active()).isZero());
    }

    @Test
    void aHandshakeFailureMovesTheRequestToAnotherBackend() throws Exception {
        EchoBackend wrong = tlsBackend(CA.issue(dir, "wrong", "wrong.example"));
        EchoBackend right = tlsBackend(CA.issue(dir, "right", "localhost"));
        fixture = closer.track(GatewayFixture.start(transport, 0, none -> String.format("""
                clusters { app { backends = ["%s", "%s"], tls { enabled = true, ca = "%s", server-name = localhost } } }
                routes = [ { cluster = app } ]
                """, hostPort(wrong.address()), hostPort(right.address()), root)));

        for (int i = 0; i < 4; i++) {
            assertThat(get("/")).isEqualTo(200);
        }
        assertThat(fixture.gateway().problems().count(Problem.BACKEND_TLS)).isBetween(1L, 4L);
    }

    @Test
    void aReloadThatChangesTlsMakesNewConnectionsWithTheNewSettingsAndClosesIdleOldOnes() throws Exception {
        EchoBackend backend = tlsBackend(OTHER_CA.issue(dir, "backend", "localhost"));
        String tls = "enabled = true, ca = \"" + root + "\", server-name = localhost";
        fixture = gateway(backend, tls + ", verify = false");
        assertThat(get("/")).isEqualTo(200);
        assertThat(backend.openConnections()).isEqualTo(1); // pooled

        reload(backend, tls + ", verify = false"); // unchanged: the context and its pooled connection stay
        assertThat(get("/")).isEqualTo(200);
        assertThat(backend.acceptedConnections()).isEqualTo(1);

        reload(backend, tls); // verify = true: OTHER_CA's certificate no longer passes

        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(backend.openConnections())
                .as("the idle connection made without verification is closed").isZero());
        assertThat(get("/")).isEqualTo(502);
        assertThat(fixture.gateway().problems().count(Problem.BACKEND_TLS)).isEqualTo(1);
    }

    private void reload(EchoBackend backend, String tls) throws Exception {
        fixture.gateway().reload(dev.fourtuple.gateway.config.ConfigLoader.parse(String.format("""
                listen = "127.0.0.1:%d"
                transport = %s
                event-loops = 2
                clusters { app { backends = ["%s"], tls { %s } } }
                routes = [ { cluster = app } ]
                """, fixture.address().getPort(), transport.configName(), hostPort(backend.address()), tls), "test"));
    }

    private int get(String path) throws Exception {
        return client.send(HttpRequest.newBuilder(fixture.http(path)).build(), HttpResponse.BodyHandlers.ofString())
                .statusCode();
    }

    private java.util.List<String> tlsLogLines() {
        return logged.list.stream().map(ILoggingEvent::getFormattedMessage)
                .filter(line -> line.startsWith(Problem.BACKEND_TLS.description())).toList();
    }

    private EchoBackend tlsBackend(TestCa.Issued certificate) throws Exception {
        return closer.track(EchoBackend.start(new InetSocketAddress("127.0.0.1", 0), "tls", transport, 1,
                serverContext(certificate)));
    }

    /** A server context for a test backend; released after the test (it is reference-counted with OpenSSL). */
    private SslContext serverContext(TestCa.Issued certificate) throws Exception {
        SslContext context = SslContextBuilder.forServer(certificate.cert().toFile(), certificate.key().toFile())
                .build();
        closer.track(() -> ReferenceCountUtil.release(context));
        return context;
    }

    private GatewayFixture gateway(EchoBackend backend, String tls) throws Exception {
        return closer.track(GatewayFixture.start(transport, 0, none -> String.format("""
                clusters { app { backends = ["%s"], tls { %s } } }
                routes = [ { cluster = app } ]
                """, hostPort(backend.address()), tls)));
    }

    private static String hostPort(InetSocketAddress address) {
        return address.getAddress().getHostAddress() + ":" + address.getPort();
    }
}
