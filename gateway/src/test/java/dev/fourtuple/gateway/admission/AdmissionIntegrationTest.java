package dev.fourtuple.gateway.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fourtuple.gateway.demo.EchoBackend;
import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayProcess;
import dev.fourtuple.gateway.testing.WebSocketProbe;
import dev.fourtuple.gateway.transport.TransportKind;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.WebSocketHandshakeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Admission at the process's real limits: the gateway runs as a child process under a small fd limit (or a
 * small max direct memory) and real clients push it past it.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AdmissionIntegrationTest {
    private static final Pattern ROOM = Pattern.compile(
            "fd limit (\\d+), (\\d+) fds open at start, reserve (\\d+), hard floor (\\d+)");

    private static final String DIRECT_MAX = "8m";
    private static final int BODY = 8 * 1024 * 1024;
    private static final int MAX_CLIENTS = 400;

    @TempDir
    Path dir;

    @RegisterExtension
    final Closer closer = new Closer();

    /** How a WebSocket handshake through the gateway ended. */
    private record Attempt(WebSocketProbe probe, int status, String retryAfter, Throwable failure) {
    }

    @Test
    void underAFdLimitItAdmitsWhatFitsRefusesTheRestAndRecovers() throws Exception {
        EchoBackend backend = closer.track(EchoBackend.start(new InetSocketAddress("127.0.0.1", 0), "b",
                TransportKind.EPOLL, 1));
        GatewayProcess gateway = closer.track(GatewayProcess.start(dir, "listen = \"127.0.0.1:0\"\n"
                + "admin.listen = \"127.0.0.1:0\"\n"
                + "clusters { c { backends = [\"127.0.0.1:" + backend.address().getPort() + "\"] } }\n"
                + "routes = [ { cluster = c } ]\n", 400, "-Xmx128m"));
        URI ws = URI.create("ws://127.0.0.1:" + gateway.address(Duration.ofSeconds(30)).getPort() + "/ws");
        // The JVM opens a jar (an fd) the first time it loads a class from it: let /status load its JSON
        // classes now, so that the fds counted while the test runs are the connections' only.
        status(gateway);
        Matcher room = ROOM.matcher(gateway.logText());
        assertThat(room.find()).as("the admission start line:\n%s", gateway.logText()).isTrue();
        int limit = Integer.parseInt(room.group(1));
        int baseline = Integer.parseInt(room.group(2));
        int reserve = Integer.parseInt(room.group(3));
        int expected = (limit - baseline - reserve) / 2;
        assertThat(limit).isEqualTo(400);

        List<Attempt> first = attempt(ws, 300);

        List<WebSocketProbe> admitted = open(first);
        assertThat(admitted.size()).as("admitted about (400 - %d - %d) / 2", baseline, reserve)
                .isBetween(expected - 10, expected + 8); // the start-line baseline is re-counted while running
        List<Attempt> refused = first.stream().filter(a -> a.status() == 503).toList();
        assertThat(refused.size() + admitted.size()).as("every other client got a 503: %s", failures(first))
                .isEqualTo(300);
        assertThat(refused).allSatisfy(a -> assertThat(a.retryAfter()).matches("[2-5]"));
        assertEchoes(admitted);

        // Close 100 admitted clients (plus 5: the JVM opens a few fds of its own as it goes, jars for classes
        // loaded late; the budget follows them, so the room freed is 100 connections' give or take a few).
        for (WebSocketProbe probe : admitted.subList(0, 105)) {
            probe.socket().sendClose(1000, "bye");
        }
        // The gateway itself says they are gone (both connections of each), not just the backend.
        int left = admitted.size() - 105;
        // ...and the refused clients' connections, which linger up to a second for their 503, are gone too.
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            JsonNode status = status(gateway);
            return status.at("/connections/downstream").asInt() == left
                    && status.at("/connections/upstream").asInt() == left
                    && status.at("/admission/refusalsInFlight").asInt() == 0;
        });

        List<Attempt> second = attempt(ws, 100);

        List<WebSocketProbe> again = open(second);
        assertThat(again).as("room freed by closing 100 is room again: %s\n%s", failures(second), gateway.logText()).hasSize(100);
        assertEchoes(again);
        assertEchoes(admitted.subList(105, admitted.size()));
        assertThat(gateway.logText()).doesNotContain("Too many open files").doesNotContain("\tat ")
                .contains("admission: shedding new connections: fds");
        assertThat(gateway.process().isAlive()).isTrue();
    }

    @Test
    void underDirectMemoryPressureItShedsInsteadOfDyingAndTheAdmittedComplete() throws Exception {
        EchoBackend backend = closer.track(EchoBackend.start(new InetSocketAddress("127.0.0.1", 0), "b",
                TransportKind.EPOLL, 1));
        GatewayProcess gateway = closer.track(GatewayProcess.start(dir, "listen = \"127.0.0.1:0\"\n"
                + "admission { direct-high = 60%, direct-low = 40% }\n"
                + "clusters { c { backends = [\"127.0.0.1:" + backend.address().getPort() + "\"] } }\n"
                + "admin.listen = off\nroutes = [ { cluster = c } ]\n", 0, "-Xmx128m",
                "-XX:MaxDirectMemorySize=" + DIRECT_MAX));
        InetSocketAddress address = gateway.address(Duration.ofSeconds(30));

        // Clients that ask for a large body and do not read it: the gateway holds what it cannot pass on.
        List<Socket> stalled = new ArrayList<>();
        int refused = 0;
        for (int i = 0; i < MAX_CLIENTS && refused < 5; i++) {
            Socket socket = closer.track(new Socket());
            socket.setReceiveBufferSize(4096);
            socket.connect(address, 5000);
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(("GET /bytes?n=" + BODY + " HTTP/1.1\r\nHost: t\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            String head = readHead(socket.getInputStream());
            if (head.startsWith("HTTP/1.1 503 ")) {
                refused++;
            } else {
                assertThat(head).startsWith("HTTP/1.1 200 ");
                stalled.add(socket);
                Thread.sleep(20); // let its response fill the buffers before the next client comes
            }
        }
        assertThat(refused).as("new connections were refused before memory ran out:\n%s", gateway.logText())
                .isPositive();

        for (Socket socket : stalled) {
            assertThat(drain(socket.getInputStream())).as("an admitted download completes").isEqualTo(BODY);
        }
        assertThat(gateway.process().isAlive()).isTrue();
        assertThat(gateway.logText()).contains("admission: shedding new connections: direct-memory")
                .doesNotContain("OutOfMemoryError").doesNotContain("OutOfDirectMemoryError");
    }

    private static String readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        int b;
        while (!head.toString().endsWith("\r\n\r\n") && (b = in.read()) >= 0) {
            head.append((char) b);
        }
        return head.toString();
    }

    private static long drain(InputStream in) throws IOException {
        byte[] buffer = new byte[64 * 1024];
        long total = 0;
        int n;
        while (total < BODY && (n = in.read(buffer)) >= 0) {
            total += n;
        }
        return total;
    }

    /** Opens {@code count} WebSockets, 20 at a time, each handshake bounded (none may hang). */
    private List<Attempt> attempt(URI ws, int count) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(20);
        try {
            List<Future<Attempt>> futures = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                futures.add(pool.submit(() -> {
                    try {
                        return new Attempt(closer.track(WebSocketProbe.open(ws)), 101, "", null);
                    } catch (Exception e) {
                        Throwable cause = e;
                        while (cause != null && !(cause instanceof WebSocketHandshakeException)) {
                            cause = cause.getCause();
                        }
                        if (cause instanceof WebSocketHandshakeException handshake) {
                            return new Attempt(null, handshake.getResponse().statusCode(),
                                    handshake.getResponse().headers().firstValue("retry-after").orElse(""), e);
                        }
                        return new Attempt(null, 0, "", e);
                    }
                }));
            }
            List<Attempt> attempts = new ArrayList<>();
            for (Future<Attempt> future : futures) {
                attempts.add(future.get(30, TimeUnit.SECONDS));
            }
            return attempts;
        } finally {
            pool.shutdownNow();
        }
    }

    private static JsonNode status(GatewayProcess gateway) throws Exception {
        return new ObjectMapper().readTree(gateway.adminGet("/status"));
    }

    private static List<WebSocketProbe> open(List<Attempt> attempts) {
        return attempts.stream().filter(a -> a.status() == 101).map(Attempt::probe).toList();
    }

    private static List<String> failures(List<Attempt> attempts) {
        return attempts.stream().filter(a -> a.status() != 101 && a.status() != 503)
                .map(a -> String.valueOf(a.failure())).limit(5).toList();
    }

    private static void assertEchoes(List<WebSocketProbe> probes) throws Exception {
        byte[] ping = {7, 7, 7};
        for (WebSocketProbe probe : probes) {
            assertThat(probe.echo(ping, Duration.ofSeconds(10))).isEqualTo(ping);
        }
    }
}
