package dev.fourtuple.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fourtuple.gateway.demo.EchoBackend;
import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayProcess;
import dev.fourtuple.gateway.testing.WebSocketProbe;
import dev.fourtuple.gateway.transport.TransportKind;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** SIGHUP reloads without dropping a tunnel; a broken file changes nothing; SIGTERM drains and exits 0. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ReloadAndDrainIntegrationTest {
    @TempDir
    Path dir;

    @RegisterExtension
    final Closer closer = new Closer();

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @Test
    void reloadUnder500TunnelsDropsNoneAndNewConnectionsFollowTheNewConfig() throws Exception {
        EchoBackend a = backend("a");
        EchoBackend b = backend("b");
        EchoBackend c = backend("c");
        GatewayProcess gateway = closer.track(GatewayProcess.start(dir, """
                listen = "127.0.0.1:0"
                admin.listen = "127.0.0.1:0"
                clusters { main { backends = [%s, %s] } }
                routes = [ { path-prefix = "/", cluster = main } ]
                """.formatted(quoted(a), quoted(b)), 0, "-Xmx256m"));
        int port = gateway.awaitPort(Duration.ofSeconds(30));
        List<WebSocketProbe> tunnels = openTunnels(URI.create("ws://127.0.0.1:" + port + "/ws"), 500);
        assertThat(a.openConnections()).isPositive();
        assertThat(b.openConnections()).isPositive();

        // Adds c, removes a, and changes the routes.
        Files.writeString(dir.resolve("gateway.conf"), """
                listen = "127.0.0.1:%d"
                admin.listen = "127.0.0.1:0"
                clusters {
                  main { backends = [%s, %s] }
                  only-c { backends = [%s] }
                }
                routes = [
                  { path-prefix = "/only", cluster = only-c }
                  { path-prefix = "/", cluster = main }
                ]
                """.formatted(port, quoted(b), quoted(c), quoted(c)));
        gateway.signal("HUP");
        await().atMost(Duration.ofSeconds(10)).until(() -> gateway.logText().contains("(version 2)"));

        assertAllEcho(tunnels);
        assertThat(a.openConnections() + b.openConnections()).as("every tunnel is still open").isEqualTo(500);
        Set<String> served = new TreeSet<>();
        for (int i = 0; i < 20; i++) {
            served.add(backendOf(port, "/hello"));
        }
        assertThat(served).containsExactly("b", "c");
        assertThat(backendOf(port, "/only/x")).isEqualTo("c");
        assertThat(status(gateway).at("/config/version").asInt()).isEqualTo(2);

        // A broken file: nothing changes, and the log names the problem with file and line.
        Files.writeString(dir.resolve("gateway.conf"), "listen = \"127.0.0.1:" + port + "\"\nclusters { main {"
                + " backends = [" + quoted(a) + "] } }\nroutes = [ { path-prefix = \"/\", cluster = mian } ]\n");
        gateway.signal("HUP");
        await().atMost(Duration.ofSeconds(10)).until(() -> gateway.logText().contains("reload refused: 1 problem(s)"));

        assertThat(gateway.logText()).contains("gateway.conf:3: routes[0].cluster: \"mian\"");
        assertThat(backendOf(port, "/only/x")).isEqualTo("c");
        assertThat(status(gateway).at("/config/version").asInt()).isEqualTo(2);
        assertAllEcho(tunnels);
        assertThat(gateway.process().isAlive()).isTrue();
    }

    @Test
    void tunnelsToARemovedBackendEndWhenTheReloadGraceRunsOut() throws Exception {
        EchoBackend a = backend("a");
        EchoBackend b = backend("b");
        String v1 = GRACE_2S.formatted(quoted(a));
        GatewayProcess gateway = closer.track(GatewayProcess.start(dir, v1, 0));
        int port = gateway.awaitPort(Duration.ofSeconds(30));
        List<WebSocketProbe> onA = openTunnels(URI.create("ws://127.0.0.1:" + port + "/ws"), 10);

        reload(gateway, v1.replace("127.0.0.1:0", "127.0.0.1:" + port).replace(quoted(a), quoted(b)), 2);
        assertAllEcho(onA); // within the grace they go on

        await().atMost(Duration.ofSeconds(10)).until(() -> a.openConnections() == 0);
        for (WebSocketProbe probe : onA) {
            Throwable outcome = catchThrowable(() -> probe.closed().get(5, TimeUnit.SECONDS));
            assertThat(outcome == null || outcome instanceof java.util.concurrent.ExecutionException).isTrue();
        }
        assertThat(backendOf(port, "/")).isEqualTo("b");
    }

    /**
     * The grace's end cuts only what still uses a backend the current config does not have: a reload that adds
     * the removed backend back within the grace keeps its tunnels (each connection is tagged with the config
     * version it serves under; the cut checks the config of its own moment).
     */
    @Test
    void aBackendAddedBackWithinTheReloadGraceKeepsItsTunnels() throws Exception {
        EchoBackend a = backend("a");
        EchoBackend b = backend("b");
        String v1 = GRACE_2S.formatted(quoted(a));
        GatewayProcess gateway = closer.track(GatewayProcess.start(dir, v1, 0));
        int port = gateway.awaitPort(Duration.ofSeconds(30));
        List<WebSocketProbe> onA = openTunnels(URI.create("ws://127.0.0.1:" + port + "/ws"), 10);
        String pinned = v1.replace("127.0.0.1:0", "127.0.0.1:" + port);

        reload(gateway, pinned.replace(quoted(a), quoted(b)), 2);
        reload(gateway, pinned.replace(quoted(a), quoted(a) + ", " + quoted(b)), 3);

        // Past the 2 s grace of version 2's removal, and then some: every tunnel to a is still there.
        await().during(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(6)).until(() -> a.openConnections() == 10);
        assertAllEcho(onA);
    }

    @Test
    void sigtermClosesThePortAtOnceLetsTheLongPollFinishAndExits0WithinTheDrainTimeout() throws Exception {
        EchoBackend a = backend("a");
        GatewayProcess gateway = closer.track(GatewayProcess.start(dir, """
                listen = "127.0.0.1:0"
                admin.listen = off
                drain-timeout = 3s
                drain-close-code = none   # this test holds its tunnels through the drain
                clusters { main { backends = [%s] } }
                routes = [ { path-prefix = "/poll", cluster = main, long-poll = true }, { cluster = main } ]
                """.formatted(quoted(a)), 0));
        int port = gateway.awaitPort(Duration.ofSeconds(30));
        List<WebSocketProbe> tunnels = openTunnels(URI.create("ws://127.0.0.1:" + port + "/ws"), 200);
        CompletableFuture<HttpResponse<String>> poll = http.sendAsync(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/poll?wait=1500")).build(), HttpResponse.BodyHandlers.ofString());
        await().atMost(Duration.ofSeconds(10)).until(() -> a.openConnections() == 201);

        long start = System.nanoTime();
        gateway.process().destroy(); // SIGTERM

        await().atMost(Duration.ofSeconds(2)).until(() -> refuses(port));
        assertAllEcho(tunnels); // the port is closed, the tunnels still relay
        HttpResponse<String> answered = poll.get(10, TimeUnit.SECONDS);
        assertThat(answered.statusCode()).isEqualTo(200);
        assertThat(answered.body()).isEqualTo("polled after 1500 ms\n");
        assertThat(gateway.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertThat(gateway.process().exitValue()).isZero();
        // The 200 tunnels never end by themselves: they hold the drain to its timeout, then the drain closes
        // them, all 200 (not the process exit, which would close them too), and every client is told.
        assertThat(took).isBetween(Duration.ofMillis(2900), Duration.ofSeconds(8));
        assertThat(gateway.logText()).contains("draining: listener closed, ",
                "drain timeout: closing 200 client connection(s) still open");
        for (WebSocketProbe probe : tunnels) {
            // A close frame or a cut connection: either way the client knows; only a hang times out here.
            probe.closed().handle((code, error) -> code).get(5, TimeUnit.SECONDS);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> a.openConnections() == 0);
    }

    private EchoBackend backend(String name) throws Exception {
        return closer.track(EchoBackend.start(new InetSocketAddress("127.0.0.1", 0), name, TransportKind.EPOLL, 1));
    }

    private static String quoted(EchoBackend backend) {
        return "\"127.0.0.1:" + backend.address().getPort() + "\"";
    }

    private List<WebSocketProbe> openTunnels(URI uri, int count) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(20);
        try {
            List<Future<WebSocketProbe>> futures = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                futures.add(pool.submit(() -> closer.track(WebSocketProbe.open(uri))));
            }
            List<WebSocketProbe> probes = new ArrayList<>();
            for (Future<WebSocketProbe> future : futures) {
                probes.add(future.get(30, TimeUnit.SECONDS));
            }
            return probes;
        } finally {
            pool.shutdownNow();
        }
    }

    /** One backend, the reload-grace short enough to run out within a test. */
    private static final String GRACE_2S = """
            listen = "127.0.0.1:0"
            admin.listen = off
            reload-grace = 2s
            clusters { main { backends = [%s] } }
            routes = [ { cluster = main } ]
            """;

    /** Writes {@code config} as the gateway's file, sends SIGHUP and waits until it runs as {@code version}. */
    private void reload(GatewayProcess gateway, String config, int version) throws Exception {
        Files.writeString(dir.resolve("gateway.conf"), config);
        gateway.signal("HUP");
        await().atMost(Duration.ofSeconds(10)).until(() -> gateway.logText().contains("(version " + version + ")"));
    }

    private static void assertAllEcho(List<WebSocketProbe> probes) throws Exception {
        byte[] ping = {4, 2};
        for (WebSocketProbe probe : probes) {
            assertThat(probe.echo(ping, Duration.ofSeconds(10))).isEqualTo(ping);
        }
    }

    private String backendOf(int port, String path) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        return response.headers().firstValue("X-Backend").orElseThrow();
    }

    private static com.fasterxml.jackson.databind.JsonNode status(GatewayProcess gateway) throws Exception {
        return new ObjectMapper().readTree(gateway.adminGet("/status"));
    }

    private static boolean refuses(int port) {
        try (Socket probe = new Socket()) {
            probe.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return false;
        } catch (ConnectException e) {
            return true;
        } catch (Exception e) {
            return false;
        }
    }
}
