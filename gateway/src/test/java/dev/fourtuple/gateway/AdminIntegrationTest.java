package dev.fourtuple.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fourtuple.gateway.config.ConfigLoader;
import dev.fourtuple.gateway.demo.EchoBackend;
import dev.fourtuple.gateway.host.FileDescriptors;
import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.WebSocketProbe;
import dev.fourtuple.gateway.transport.TransportKind;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The admin server: /metrics parsed as Prometheus text, /status against the live counts, /readyz on drain. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AdminIntegrationTest {
    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*})? (\\S+)$");

    @RegisterExtension
    final Closer closer = new Closer();

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @Test
    void metricsAndStatusTellTheLiveCountsAndReadyzTurns503OnDrain() throws Exception {
        EchoBackend backend = closer.track(EchoBackend.start(new InetSocketAddress("127.0.0.1", 0), "b",
                TransportKind.EPOLL, 1));
        Service service = Service.start(ConfigLoader.parse("""
                listen = "127.0.0.1:0"
                admin.listen = "127.0.0.1:0"
                drain-timeout = 5s
                clusters { c { backends = ["127.0.0.1:%d"] } }
                routes = [ { path-prefix = "/poll", cluster = c, long-poll = true }, { cluster = c } ]
                """.formatted(backend.address().getPort()), "admin-test"), null);
        closer.track(service);
        URI admin = URI.create("http://" + Gateway.format(service.admin().address()));
        int port = service.gateway().address().getPort();
        for (int i = 0; i < 7; i++) {
            closer.track(WebSocketProbe.open(URI.create("ws://127.0.0.1:" + port + "/ws")));
        }
        CompletableFuture<HttpResponse<String>> poll = http.sendAsync(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/poll?wait=1500")).build(), HttpResponse.BodyHandlers.ofString());
        await().atMost(Duration.ofSeconds(5)).until(() -> service.gateway().upstreamMeters().active() == 8);

        Map<String, Double> metrics = scrape(admin);
        assertThat(metrics.get("fourtuple_connections_active{side=\"downstream\"}")).isEqualTo(8.0);
        assertThat(metrics.get("fourtuple_connections_active{side=\"upstream\"}")).isEqualTo(8.0);
        assertThat(metrics.get("fourtuple_tunnels_active")).isEqualTo(7.0);
        assertThat(metrics.get("fourtuple_admission_state")).isEqualTo(0.0);
        assertThat(metrics.keySet()).anyMatch(k -> k.startsWith("jvm_memory_used_bytes"))
                .anyMatch(k -> k.startsWith("netty_allocator_memory_used"))
                .anyMatch(k -> k.startsWith("fourtuple_upstream_tuple_in_use{"))
                .anyMatch(k -> k.startsWith("fourtuple_admission_headroom{resource=\"fds\"}"));
        // This process's fds: the gateway's 16 connections (8 clients, 8 backends), the probes' and backend's
        // 16 more, the listeners and the jars; never more than the limit.
        assertThat(metrics.get("process_files_open_files")).isBetween(32.0, metrics.get("process_files_max_files"));
        assertThat(metrics.get("process_files_max_files")).isEqualTo((double) FileDescriptors.openFilesLimit(Path.of("/proc")));

        JsonNode status = new ObjectMapper().readTree(get(admin, "/status").body());
        assertThat(status.at("/state").asText()).isEqualTo("ready");
        assertThat(status.at("/connections/downstream").asLong()).isEqualTo(service.gateway().inboundMeters().active());
        assertThat(status.at("/connections/tunnels").asLong()).isEqualTo(7);
        assertThat(status.at("/upstream/tuplesInUse").asLong()).isEqualTo(8);
        assertThat(status.at("/backends/0/active").asInt()).isEqualTo(8);
        assertThat(status.at("/backends/0/health").asText()).isEqualTo("up");
        assertThat(status.at("/admission/state").asText()).isEqualTo("accepting");
        assertThat(get(admin, "/healthz").statusCode()).isEqualTo(200);
        assertThat(get(admin, "/readyz").statusCode()).isEqualTo(200);

        CompletableFuture<Void> drain = CompletableFuture.runAsync(
                () -> service.gateway().drainAndStop(Duration.ofSeconds(5)));
        await().atMost(Duration.ofSeconds(2)).until(() -> get(admin, "/readyz").statusCode() == 503);
        assertThat(poll.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        drain.get(15, TimeUnit.SECONDS);
    }

    private HttpResponse<String> get(URI admin, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(admin.resolve(path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Prometheus text exposition → sample name with labels → value; fails on a line that does not parse. */
    private Map<String, Double> scrape(URI admin) throws Exception {
        HttpResponse<String> response = get(admin, "/metrics");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("content-type").orElse("")).startsWith("text/plain");
        Map<String, Double> samples = new HashMap<>();
        for (String line : response.body().split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            assertThat(m.matches()).as("a Prometheus sample line: %s", line).isTrue();
            samples.put(m.group(1) + (m.group(2) == null ? "" : m.group(2)), Double.parseDouble(m.group(3)));
        }
        return samples;
    }
}
