package dev.fourtuple.gateway.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.config.AdminSettings;
import dev.fourtuple.gateway.config.ConfigLoader;
import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.RawHttp;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The admin server's own timeouts and limits, through real sockets: a silent or trickling client gets 408
 * after header-timeout, an idle keep-alive connection is closed after idle-timeout, oversize or bodied
 * requests get 414 / 431 / 413 and a close, the connection after max-connections gets 503; and the paths
 * still answer.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AdminServerIntegrationTest {
    private static final String CONFIG = """
            listen = "127.0.0.1:0"
            clusters { c { backends = ["127.0.0.1:9"] } }
            routes = [ { cluster = c } ]
            admin.listen = "127.0.0.1:0"
            """;

    @RegisterExtension
    final Closer closer = new Closer();

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    @Test
    void aClientThatSendsNothingGets408AfterTheHeaderTimeout() throws Exception {
        InetSocketAddress admin = start("admin { header-timeout = 500ms, idle-timeout = 10s }");
        try (RawHttp silent = RawHttp.connect(admin, 10_000)) {
            long start = System.nanoTime();

            String response = silent.readUntilClose();

            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertThat(response).startsWith("HTTP/1.1 408 Request Timeout\r\n").contains("Connection: close\r\n")
                    .endsWith("\r\n\r\nrequest head not received in time\n");
            assertThat(took).isBetween(Duration.ofMillis(450), Duration.ofSeconds(5));
        }
    }

    @Test
    void aClientThatTricklesItsHeadGets408AfterTheHeaderTimeout() throws Exception {
        InetSocketAddress admin = start("admin { header-timeout = 500ms, idle-timeout = 10s }");
        try (RawHttp trickle = RawHttp.connect(admin, 10_000)) {
            trickle.send("GET /metrics HTTP/1.1\r\nHost: admin\r\n");
            long start = System.nanoTime();
            // One header byte every 100 ms: the head would be complete only after about 4 s.
            CompletableFuture<Void> bytes = CompletableFuture.runAsync(() -> {
                try {
                    for (char c : "X-Slow: yes-really-so-slow-as-this\r\n\r\n".toCharArray()) {
                        trickle.send(String.valueOf(c));
                        Thread.sleep(100); // the client's pace, not a wait for the server
                    }
                } catch (IOException | InterruptedException e) {
                    // the server closed the connection, as it should
                }
            });
            closer.track(() -> bytes.cancel(true));

            String response = trickle.readUntilClose();

            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertThat(response).startsWith("HTTP/1.1 408 Request Timeout\r\n").doesNotContain("200 OK");
            assertThat(took).as("the whole head would take about 4 s").isBetween(Duration.ofMillis(400), Duration.ofSeconds(3));
        }
    }

    @Test
    void aKeptAliveConnectionIdlePastTheIdleTimeoutIsClosedWithoutAWord() throws Exception {
        InetSocketAddress admin = start("admin { header-timeout = 300ms, idle-timeout = 1500ms }");
        try (RawHttp client = RawHttp.connect(admin, 10_000)) {
            assertThat(get(client, "/healthz")).isEqualTo("ok\n");
            assertThat(get(client, "/healthz")).as("kept alive").isEqualTo("ok\n");
            long answered = System.nanoTime();

            String after = client.readUntilClose();

            Duration idle = Duration.ofNanos(System.nanoTime() - answered);
            assertThat(after).as("nothing after the last response, only the close").isEmpty();
            assertThat(idle).as("idle-timeout, not header-timeout, applies between requests")
                    .isBetween(Duration.ofMillis(1400), Duration.ofSeconds(6));
        }
    }

    @Test
    void withIdleTimeoutOffAnIdleConnectionStaysOpenPastTheHeaderTimeout() throws Exception {
        InetSocketAddress admin = start("admin { header-timeout = 200ms, idle-timeout = off }");
        try (RawHttp client = RawHttp.connect(admin, 1500)) {
            assertThat(get(client, "/healthz")).isEqualTo("ok\n");

            Throwable read = catchThrowable(() -> client.socket().getInputStream().read());

            assertThat(read).as("no byte and no close for 1.5 s, 7 header-timeouts")
                    .isInstanceOf(SocketTimeoutException.class);
            client.socket().setSoTimeout(10_000);
            assertThat(get(client, "/healthz")).isEqualTo("ok\n");
        }
    }

    @Test
    void anOversizeHeadGets431AndIsClosed() throws Exception {
        InetSocketAddress admin = start("");
        try (RawHttp client = RawHttp.connect(admin, 10_000)) {
            String response = client.send("GET /metrics HTTP/1.1\r\nHost: admin\r\nX-Big: " + "a".repeat(9000)
                    + "\r\n\r\n").readUntilClose();

            assertThat(response).startsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n")
                    .contains("connection: close\r\n").endsWith("request head over 8192 bytes\n");
        }
    }

    @Test
    void aHeadJustWithinTheLimitIsServed() throws Exception {
        InetSocketAddress admin = start("");
        try (RawHttp client = RawHttp.connect(admin, 10_000)) {
            client.send("GET /healthz HTTP/1.1\r\nHost: admin\r\nX-Big: " + "a".repeat(7000) + "\r\n\r\n");

            assertThat(client.readHead()).startsWith("HTTP/1.1 200 OK\r\n");
        }
    }

    @Test
    void anOversizeRequestLineGets414AndIsClosed() throws Exception {
        InetSocketAddress admin = start("");
        try (RawHttp client = RawHttp.connect(admin, 10_000)) {
            String response = client.send("GET /" + "a".repeat(5000) + " HTTP/1.1\r\nHost: admin\r\n\r\n")
                    .readUntilClose();

            assertThat(response).startsWith("HTTP/1.1 414 Request-URI Too Long\r\n")
                    .endsWith("request line over 4096 bytes\n");
        }
    }

    @Test
    void aRequestWithABodyGets413AndIsClosed() throws Exception {
        InetSocketAddress admin = start("");
        for (String framing : List.of("Content-Length: 5\r\n\r\nhello", "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")) {
            try (RawHttp client = RawHttp.connect(admin, 10_000)) {
                String response = client.send("GET /metrics HTTP/1.1\r\nHost: admin\r\n" + framing).readUntilClose();

                assertThat(response).as(framing).startsWith("HTTP/1.1 413 Request Entity Too Large\r\n")
                        .endsWith("the admin takes no request body\n");
            }
        }
    }

    @Test
    void anotherMethodGets405WithAllowAndTheConnectionGoesOn() throws Exception {
        InetSocketAddress admin = start("");
        try (RawHttp client = RawHttp.connect(admin, 10_000)) {
            String head = client.send("DELETE /status HTTP/1.1\r\nHost: admin\r\n\r\n").readHead();
            assertThat(head).startsWith("HTTP/1.1 405 Method Not Allowed\r\n").contains("allow: GET, HEAD\r\n");
            client.readBytes(contentLength(head));

            assertThat(get(client, "/healthz")).isEqualTo("ok\n");
        }
    }

    @Test
    void aHeadRequestGetsNoBodySoTheNextRequestOnTheConnectionParses() throws Exception {
        InetSocketAddress admin = start("");
        try (RawHttp client = RawHttp.connect(admin, 10_000)) {
            String head = client.send("HEAD /healthz HTTP/1.1\r\nHost: admin\r\n\r\n").readHead();
            assertThat(head).startsWith("HTTP/1.1 200 OK\r\n").contains("content-length: 3\r\n");

            assertThat(get(client, "/readyz")).as("no body bytes came between").isEqualTo("ready\n");
        }
    }

    @Test
    void theConnectionAfterMaxConnectionsGets503AndTheFirstOnesGoOn() throws Exception {
        InetSocketAddress admin = start("admin { max-connections = 3 }");
        List<RawHttp> open = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            RawHttp client = closer.track(RawHttp.connect(admin, 10_000));
            assertThat(get(client, "/healthz")).isEqualTo("ok\n"); // served: counted as open
            open.add(client);
        }

        try (RawHttp fourth = RawHttp.connect(admin, 10_000)) {
            String response = fourth.readUntilClose();

            assertThat(response).startsWith("HTTP/1.1 503 Service Unavailable\r\n").contains("Retry-After: 1\r\n")
                    .endsWith("too many admin connections\n");
        }
        for (RawHttp client : open) {
            assertThat(get(client, "/healthz")).isEqualTo("ok\n");
        }

        open.get(0).close();
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            try (RawHttp next = RawHttp.connect(admin, 10_000)) {
                assertThat(next.send("GET /healthz HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n")
                        .readUntilClose()).startsWith("HTTP/1.1 200 OK\r\n");
            }
        });
    }

    @Test
    void metricsHealthAndStatusStillAnswer() throws Exception {
        registry.counter("fourtuple.admin.test").increment(3);
        InetSocketAddress admin = start("");
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        URI base = URI.create("http://127.0.0.1:" + admin.getPort());

        HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(base.resolve("/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.headers().firstValue("content-type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
        assertThat(metrics.body()).contains("fourtuple_admin_test_total 3.0");

        HttpResponse<String> status = http.send(HttpRequest.newBuilder(base.resolve("/status")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(status.statusCode()).isEqualTo(200);
        assertThat(status.body()).contains("\"state\" : \"ready\"");
        HttpResponse<String> head = http.send(HttpRequest.newBuilder(base.resolve("/healthz"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.body()).isEmpty();
        assertThat(http.send(HttpRequest.newBuilder(base.resolve("/readyz")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
    }

    private InetSocketAddress start(String adminConfig) throws Exception {
        AdminSettings settings = ConfigLoader.parse(CONFIG + adminConfig + "\n", "admin-test").ops().admin();
        AdminServer server = closer.track(AdminServer.start(settings, registry::scrape,
                () -> Map.of("state", "ready"), () -> true));
        return new InetSocketAddress("127.0.0.1", server.address().getPort());
    }

    /** One keep-alive GET on the connection; its body. */
    private static String get(RawHttp client, String path) throws IOException {
        String head = client.send("GET " + path + " HTTP/1.1\r\nHost: admin\r\n\r\n").readHead();
        assertThat(head).startsWith("HTTP/1.1 200 OK\r\n").doesNotContain("connection: close");
        return new String(client.readBytes(contentLength(head)), StandardCharsets.UTF_8);
    }

    private static int contentLength(String head) {
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                return Integer.parseInt(line.substring("content-length:".length()).trim());
            }
        }
        throw new AssertionError("no content-length in " + head);
    }
}
