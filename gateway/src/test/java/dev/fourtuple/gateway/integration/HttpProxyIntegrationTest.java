package dev.fourtuple.gateway.integration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.demo.EchoBackend;
import dev.fourtuple.gateway.metrics.Problem;
import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.ListenerKind;
import dev.fourtuple.gateway.testing.TestTls;
import dev.fourtuple.gateway.testing.HttpWire;
import dev.fourtuple.gateway.testing.RawHttp;
import dev.fourtuple.gateway.testing.RecordingBackend;
import dev.fourtuple.gateway.transport.TransportKind;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * HTTP/1.1 through the gateway: routing, headers, streaming bodies, keep-alive, errors. Over every transport, on
 * a plaintext listener (http://127.0.0.1) and on a TLS listener (https://localhost, certificate checked).
 */
@ParameterizedClass
@MethodSource("dev.fourtuple.gateway.testing.ListenerKind#withTransports")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HttpProxyIntegrationTest {
    @Parameter(0)
    TransportKind transport;
    @Parameter(1)
    ListenerKind listener;

    private final HttpClient client = HttpClient.newBuilder().sslContext(TestTls.clientContext())
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    @RegisterExtension
    final Closer closer = new Closer();
    private GatewayFixture fixture;


    @Test
    void forwardsWithForwardedHeadersAndPreservedHost() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, ""));
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(fixture.http("/hello?x=1"))
                .header("X-Forwarded-For", "10.9.8.7")
                .header("Keep-Alive", "timeout=5")
                .build(), HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(200);
        String seen = response.body();
        String gatewayHost = fixture.authority();
        assertThat(seen).startsWith("backend b0: GET /hello?x=1 HTTP/1.1\n");
        assertThat(seen).contains("host: " + gatewayHost + "\n");
        assertThat(seen).contains("x-forwarded-for: 10.9.8.7, 127.0.0.1\n");
        assertThat(seen).contains("x-forwarded-proto: " + listener.httpScheme() + "\n");
        assertThat(seen).contains("x-forwarded-host: " + gatewayHost + "\n");
        assertThat(seen).doesNotContain("keep-alive:");
        assertThat(response.headers().firstValue("X-Backend")).contains("b0");
    }

    @Test
    void routesTwoClustersByPathPrefix() throws Exception {
        fixture = closer.track(GatewayFixture.start(transport, listener, 2, backends -> String.format("""
                clusters {
                  api { backends = ["%s"] }
                  web { backends = ["%s"] }
                }
                routes = [
                  { path-prefix = "/api/", cluster = api }
                  { path-prefix = "/", cluster = web }
                ]
                """, address(backends.get(0)), address(backends.get(1)))));

        assertThat(backendOf("/api/users")).isEqualTo("b0");
        assertThat(backendOf("/api/")).isEqualTo("b0");
        assertThat(backendOf("/index.html")).isEqualTo("b1");
        assertThat(backendOf("/apix")).isEqualTo("b1");
    }

    @Test
    void routesByHostAndAnswers404WhenNothingMatches() throws Exception {
        fixture = closer.track(GatewayFixture.start(transport, listener, 1, backends -> String.format("""
                clusters { only { backends = ["%s"] } }
                routes = [ { host = "api.example", path-prefix = "/", cluster = only } ]
                """, address(backends.get(0)))));

        try (RawHttp raw = fixture.raw(5000)) {
            String response = raw.send("GET / HTTP/1.1\r\nHost: API.example:8080\r\n\r\n").readHead();
            assertThat(response).startsWith("HTTP/1.1 200 ");
        }
        try (RawHttp raw = fixture.raw(5000)) {
            String response = raw.send("GET / HTTP/1.1\r\nHost: other.example\r\n\r\n").readUntilClose();
            assertThat(response).startsWith("HTTP/1.1 404 ");
        }
        assertThat(fixture.gateway().problems().count(Problem.NO_ROUTE)).isEqualTo(1);
    }

    @Test
    void roundRobinSpreadsRequestsOverBackends() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 2, ""));
        int b0 = 0;
        for (int i = 0; i < 20; i++) {
            if (backendOf("/rr").equals("b0")) {
                b0++;
            }
        }
        assertThat(b0).isEqualTo(10);
    }

    @Test
    void streamsAChunkedUploadAndItsChunkedEchoIntact() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, ""));
        byte[] body = new byte[8 * 1024 * 1024 + 17];
        new Random(42).nextBytes(body);
        // An InputStream body of unknown length makes java.net.http send it chunked.
        HttpRequest request = HttpRequest.newBuilder(fixture.http("/upload"))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new SequenceInputStream(
                        Collections.enumeration(List.<InputStream>of(new ByteArrayInputStream(body))))))
                .build();

        HttpResponse<byte[]> response = client.send(request, HttpResponse.BodyHandlers.ofByteArray());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("transfer-encoding")).contains("chunked");
        assertThat(sha256(response.body())).isEqualTo(sha256(body));
    }

    @Test
    void streamsAContentLengthUploadIntact() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, ""));
        byte[] body = new byte[3 * 1024 * 1024];
        new Random(7).nextBytes(body);

        HttpResponse<byte[]> response = client.send(HttpRequest.newBuilder(fixture.http("/upload"))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofByteArray());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(sha256(response.body())).isEqualTo(sha256(body));
    }

    @Test
    void streamsALargeDownloadIntact() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, ""));
        int size = 20 * 1024 * 1024 + 3;

        HttpResponse<byte[]> response = client.send(HttpRequest.newBuilder(fixture.http("/bytes?n=" + size)).build(),
                HttpResponse.BodyHandlers.ofByteArray());

        assertThat(response.statusCode()).isEqualTo(200);
        byte[] body = response.body();
        assertThat(body).hasSize(size);
        for (int i = 0; i < size; i += 4099) {
            assertThat(body[i]).isEqualTo((byte) (i % 251));
        }
    }

    @Test
    void keepAliveRequestsReuseOnePooledUpstreamConnection() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, ""));
        try (RawHttp raw = fixture.raw(5000)) {
            for (int i = 0; i < 10; i++) {
                String head = raw.send("GET /status/200 HTTP/1.1\r\nHost: test\r\n\r\n").readHead();
                assertThat(head).startsWith("HTTP/1.1 200 ").doesNotContainIgnoringCase("connection: close");
                raw.readBytes("status 200\n".length());
            }
        }
        assertThat(fixture.gateway().upstreamMeters().connects()).isEqualTo(1);
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, ""));
        try (RawHttp raw = fixture.raw(5000)) {
            raw.send("GET /status/201 HTTP/1.1\r\nHost: t\r\n\r\n"
                    + "GET /status/202 HTTP/1.1\r\nHost: t\r\n\r\n"
                    + "GET /status/203 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            String all = raw.readUntilClose();
            assertThat(all.indexOf("HTTP/1.1 201")).isGreaterThanOrEqualTo(0);
            assertThat(all.indexOf("HTTP/1.1 202")).isGreaterThan(all.indexOf("HTTP/1.1 201"));
            assertThat(all.indexOf("HTTP/1.1 203")).isGreaterThan(all.indexOf("HTTP/1.1 202"));
        }
    }

    @Test
    void http10ClientGetsItsAnswerAndTheConnectionCloses() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, ""));
        try (RawHttp raw = fixture.raw(5000)) {
            String all = raw.send("GET /bytes?n=5 HTTP/1.0\r\n\r\n").readUntilClose();
            assertThat(all).startsWith("HTTP/1.1 200 ").containsIgnoringCase("connection: close");
            assertThat(all).endsWith("\r\n\r\n\u0000\u0001\u0002\u0003\u0004");
        }
    }

    @Test
    void malformedRequestGets400AndClose() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, ""));
        try (RawHttp raw = fixture.raw(5000)) {
            String all = raw.send("GET / HTTP/1.1\r\nHost: t\r\nBad Header Without Colon\r\n\r\n").readUntilClose();
            assertThat(all).startsWith("HTTP/1.1 400 ");
        }
        assertThat(fixture.gateway().problems().count(Problem.BAD_REQUEST)).isEqualTo(1);
    }

    @Test
    void oversizedHeadersGet431AndOversizedBodyGets413() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, "max-header-size = 1KiB\nmax-request-body-size = 1KiB"));
        try (RawHttp raw = fixture.raw(5000)) {
            String all = raw.send("GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + "a".repeat(2000) + "\r\n\r\n")
                    .readUntilClose();
            assertThat(all).startsWith("HTTP/1.1 431 ");
        }
        try (RawHttp raw = fixture.raw(5000)) {
            String all = raw.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n").readUntilClose();
            assertThat(all).startsWith("HTTP/1.1 413 ");
        }
    }

    /**
     * Chunked, so the size is only known as it streams: the limit still holds. The backend here reads a whole
     * request before it answers, so the gateway must be the one to stop the body: 413, and the backend never
     * gets a complete request.
     */
    @Test
    void aChunkedBodyGrowingPastTheLimitGets413() throws Exception {
        RecordingBackend recording = closer.track(RecordingBackend.start());
        fixture = closer.track(GatewayFixture.inFrontOf(transport, listener, recording, "max-request-body-size = 1KiB\n"));
        try (RawHttp raw = fixture.raw(5000)) {
            String chunk = Integer.toHexString(800) + "\r\n" + "x".repeat(800) + "\r\n";
            List<HttpWire.Message> responses = raw.send("POST /upload HTTP/1.1\r\nHost: t\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n" + chunk + chunk).responses();
            assertThat(responses).extracting(HttpWire.Message::status).containsExactly(413);
        }
        assertThat(fixture.gateway().problems().count(Problem.BODY_TOO_LARGE)).isEqualTo(1);
        assertThat(recording.requests()).as("the backend never parsed a complete request").isEmpty();
    }

    @Test
    void slowlorisClientGets408AfterHeaderTimeout() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, "header-timeout = 500ms"));
        try (RawHttp raw = fixture.raw(5000)) {
            raw.send("GET / HTTP/1.1\r\nHost: t\r\n"); // never finishes its head
            long start = System.nanoTime();
            String all = raw.readUntilClose();
            assertThat(all).startsWith("HTTP/1.1 408 ");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
        }
    }

    @Test
    void idleKeepAliveConnectionIsClosedAfterIdleTimeout() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, "idle-timeout = 300ms"));
        try (RawHttp raw = fixture.raw(5000)) {
            assertThat(raw.send("GET /status/200 HTTP/1.1\r\nHost: t\r\n\r\n").readHead()).startsWith("HTTP/1.1 200");
            raw.readBytes("status 200\n".length());
            assertThat(raw.readUntilClose()).isEmpty(); // closed by the gateway, without another byte
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> fixture.gateway().inboundMeters().active() == 0);
    }

    @Test
    void deadBackendGives502AndTheClientIsNotHung() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, ""));
        assertThat(client.send(HttpRequest.newBuilder(fixture.http("/")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        fixture.backend(0).close();

        HttpResponse<String> response = client.send(HttpRequest.newBuilder(fixture.http("/"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(502);
        assertThat(fixture.gateway().problems().count(Problem.BACKEND_REFUSED)).isGreaterThanOrEqualTo(1);
    }

    @Test
    void connectFailureMovesTheRequestToAnotherBackend() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 2, ""));
        fixture.backend(0).close();
        for (int i = 0; i < 6; i++) {
            assertThat(backendOf("/retry")).isEqualTo("b1");
        }
    }

    @Test
    void backendClosingMidRequestGives502() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, ""));
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(fixture.http("/close")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(502);
        assertThat(fixture.gateway().problems().count(Problem.BACKEND_CLOSED)).isEqualTo(1);
    }

    @Test
    void slowBackendGets504AfterRequestTimeout() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, "request-timeout = 300ms"));
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(fixture.http("/poll?wait=3000")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(504);
        await().atMost(Duration.ofSeconds(5)).until(() -> fixture.gateway().upstreamMeters().active() == 0);
    }

    @Test
    void headRequestGetsHeadersWithoutBody() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, ""));
        try (RawHttp raw = fixture.raw(5000)) {
            String head = raw.send("HEAD /bytes?n=1000 HTTP/1.1\r\nHost: t\r\n\r\n").readHead();
            assertThat(head).startsWith("HTTP/1.1 200 ").containsIgnoringCase("content-length: 1000");
            // The next response must follow directly: no body bytes were sent for the HEAD.
            String next = raw.send("GET /status/204 HTTP/1.1\r\nHost: t\r\n\r\n").readHead();
            assertThat(next).startsWith("HTTP/1.1 204 ");
        }
    }

    @Test
    void drainLetsAnInFlightRequestFinish() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, ""));
        var pending = client.sendAsync(HttpRequest.newBuilder(fixture.http("/poll?wait=800")).build(),
                HttpResponse.BodyHandlers.ofString());
        await().atMost(Duration.ofSeconds(5)).until(() -> fixture.gateway().upstreamMeters().active() == 1);

        long left = fixture.gateway().drainAndStop(Duration.ofSeconds(10));

        assertThat(left).isZero();
        HttpResponse<String> response = pending.get(5, TimeUnit.SECONDS);
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("polled after 800 ms\n");
        assertThat(response.headers().firstValue("connection")).contains("close");
    }

    private String backendOf(String path) throws Exception {
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(fixture.http(path)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        return response.headers().firstValue("X-Backend").orElseThrow();
    }

    private static String address(EchoBackend backend) {
        return "127.0.0.1:" + backend.address().getPort();
    }

    private static String sha256(byte[] bytes) throws Exception {
        return new java.math.BigInteger(1, MessageDigest.getInstance("SHA-256").digest(bytes)).toString(16);
    }

    @SuppressWarnings("unused")
    private static String ascii(byte[] bytes) {
        return new String(bytes, StandardCharsets.US_ASCII);
    }
}
