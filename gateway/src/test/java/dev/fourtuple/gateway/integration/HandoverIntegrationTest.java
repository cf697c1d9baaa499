package dev.fourtuple.gateway.integration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.EchoBackendProcess;
import dev.fourtuple.gateway.testing.EchoingTunnels;
import dev.fourtuple.gateway.testing.GatewayProcess;
import dev.fourtuple.gateway.testing.HttpWire;
import dev.fourtuple.gateway.testing.RawHttp;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A successor process takes over, through handover.socket, the listening sockets and the live connections of
 * the running one: real gateway processes, real sockets, the upgrade started by SIGUSR2 as an operator would.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class HandoverIntegrationTest {
    private static final Pattern TUNNELS = Pattern.compile("\"tunnels\" : (\\d+)");
    private static final Pattern PID = Pattern.compile("\"pid\" : (\\d+)");

    @RegisterExtension
    final Closer closer = new Closer();

    @TempDir
    Path dir;

    private EchoBackendProcess backend;

    @BeforeEach
    void backend() throws Exception {
        backend = closer.track(EchoBackendProcess.start(dir, "echo"));
    }

    private String config(String listen) {
        return "listen = \"" + listen + "\"\n"
                + "admin.listen = \"127.0.0.1:0\"\n"
                + "handover.socket = \"" + dir.resolve("handover.sock") + "\"\n"
                + "drain-timeout = 20s\n"
                + "clusters { echo { backends = [\"127.0.0.1:" + backend.address().getPort() + "\"] } }\n"
                + "routes = [ { cluster = echo } ]\n";
    }

    @Test
    void aThousandTunnelsKeepEchoingThroughTheSuccessorAndNoNewConnectionIsRefused() throws Exception {
        GatewayProcess old = closer.track(GatewayProcess.start(dir, config("127.0.0.1:0"), 0));
        InetSocketAddress gateway = old.address(Duration.ofSeconds(30));
        EchoingTunnels tunnels = closer.track(EchoingTunnels.open(gateway, "/ws", 1000, Duration.ofSeconds(30)));
        tunnels.startEchoing(Duration.ofMillis(250));
        awaitEchoes(tunnels, 3, old);
        NewConnections arrivals = closer.track(NewConnections.everyTenMillis(gateway));

        old.signal("USR2");
        long successor = old.successorPid(Duration.ofSeconds(30));
        assertThat(old.process().waitFor(120, TimeUnit.SECONDS)).as("the old process exits once it holds nothing:\n%s",
                old.logText()).isTrue();
        assertThat(old.process().exitValue()).isZero();

        URI admin = old.lastAdmin();
        String status = GatewayProcess.adminGet(admin, "/status");
        assertThat(number(PID, status)).as("the admin server now is the successor's").isEqualTo(successor);
        assertThat(number(TUNNELS, status)).as("every tunnel is the successor's: %s", status).isEqualTo(1000);
        // Every tunnel echoes on, through the successor alone now (the old pid is gone).
        long echoedBefore = tunnels.minEchoes();
        awaitEchoes(tunnels, echoedBefore + 5, old);
        arrivals.stop();

        assertThat(tunnels.problems()).as("frames lost, duplicated, reordered; closes; resets").isEmpty();
        assertThat(arrivals.failures()).as("new connections refused, reset or unanswered during the handover; "
                + "log:\n%s", old.logText()).isEmpty();
        assertThat(arrivals.answered()).as("new connections answered throughout").isGreaterThan(100);
        // Every tunnel moved; what stayed were requests of the new-connection load in flight at that moment.
        assertThat(old.logText()).contains("1000 connection(s) moved to pid " + successor + ";");
    }

    @Test
    void idleKeepAliveConnectionsAnswerTheirNextRequestFromTheSuccessor() throws Exception {
        GatewayProcess old = closer.track(GatewayProcess.start(dir, config("127.0.0.1:0"), 0));
        InetSocketAddress gateway = old.address(Duration.ofSeconds(30));
        List<RawHttp> clients = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            RawHttp client = closer.track(RawHttp.connect(gateway, 10_000));
            HttpWire.Message first = client.send("GET /first/" + i + " HTTP/1.1\r\nHost: a\r\n\r\n").response();
            assertThat(first.second()).isEqualTo("200");
            clients.add(client);
        }

        old.signal("USR2");
        long successor = old.successorPid(Duration.ofSeconds(30));
        assertThat(old.process().waitFor(120, TimeUnit.SECONDS)).as(old.logText()).isTrue();

        for (int i = 0; i < clients.size(); i++) {
            HttpWire.Message next = clients.get(i).send("GET /next/" + i + " HTTP/1.1\r\nHost: a\r\n\r\n").response();
            assertThat(next.second()).as("connection %d, answered by pid %d alone now", i, successor).isEqualTo("200");
            assertThat(new String(next.body())).contains("/next/" + i);
        }
        assertThat(old.logText()).contains("20 connection(s) moved to pid " + successor);
    }

    @Test
    void aSuccessorWithOtherListenersExitsTwoAndTheRunningProcessServesOn() throws Exception {
        GatewayProcess old = closer.track(GatewayProcess.start(dir, config("127.0.0.1:0"), 0));
        InetSocketAddress gateway = old.address(Duration.ofSeconds(30));
        Path other = dir.resolve("other");
        java.nio.file.Files.createDirectories(other);

        GatewayProcess successor = closer.track(GatewayProcess.start(other, config("127.0.0.2:0"), 0));

        assertThat(successor.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(successor.process().exitValue()).as(successor.logText()).isEqualTo(2);
        assertThat(successor.logText()).contains("refused the handover")
                .contains("[default@127.0.0.2:0]").contains("[default@127.0.0.1:0]");
        assertThat(old.process().isAlive()).isTrue();
        try (RawHttp client = RawHttp.connect(gateway, 10_000)) {
            assertThat(client.send("GET /still HTTP/1.1\r\nHost: a\r\n\r\n").response().second()).isEqualTo("200");
        }
        assertThat(old.logText()).contains("refused successor pid " + successor.process().pid());
    }

    /** Waits until every tunnel has {@code echoes} echoes; else fails showing the ones behind, with their sockets. */
    private static void awaitEchoes(EchoingTunnels tunnels, long echoes, GatewayProcess old) {
        try {
            await().atMost(Duration.ofSeconds(30)).until(() -> tunnels.minEchoes() >= echoes);
        } catch (ConditionTimeoutException e) {
            List<String> behind = tunnels.behind(echoes);
            String sockets;
            try {
                Process ss = new ProcessBuilder("ss", "-tnp").redirectErrorStream(true).start();
                sockets = new String(ss.getInputStream().readAllBytes());
            } catch (IOException io) {
                sockets = io.toString();
            }
            StringBuilder lines = new StringBuilder();
            for (String tunnel : behind.subList(0, Math.min(5, behind.size()))) {
                String port = tunnel.replaceAll(".*port (\\d+).*", "$1");
                lines.append(tunnel).append('\n');
                sockets.lines().filter(l -> l.contains(":" + port + " ")).forEach(l -> lines.append("  ").append(l)
                        .append('\n'));
            }
            lines.append("sockets with bytes queued:\n");
            sockets.lines().filter(l -> l.startsWith("ESTAB") && !l.matches("ESTAB\\s+0\\s+0\\s.*"))
                    .limit(40).forEach(l -> lines.append("  ").append(l).append('\n'));
            throw new AssertionError(behind.size() + " tunnel(s) with fewer than " + echoes + " echoes:\n" + lines
                    + "log:\n" + old.logText(), e);
        }
    }

    private static long number(Pattern pattern, String text) {
        Matcher m = pattern.matcher(text);
        if (!m.find()) {
            throw new AssertionError(pattern + " not in " + text);
        }
        return Long.parseLong(m.group(1));
    }

    /** A new client connection every 10 ms (100 a second), one request each, every failure kept. */
    static final class NewConnections implements AutoCloseable {
        private final ScheduledExecutorService clock = Executors.newSingleThreadScheduledExecutor();
        private final ExecutorService clients = Executors.newFixedThreadPool(8);
        private final Queue<String> failures = new ConcurrentLinkedQueue<>();
        private final AtomicLong answered = new AtomicLong();
        private final long start = System.nanoTime();

        static NewConnections everyTenMillis(InetSocketAddress gateway) {
            NewConnections load = new NewConnections();
            AtomicLong n = new AtomicLong();
            load.clock.scheduleAtFixedRate(() -> load.clients.execute(() -> load.once(gateway, n.incrementAndGet())),
                    0, 10, TimeUnit.MILLISECONDS);
            return load;
        }

        private void once(InetSocketAddress gateway, long n) {
            long at = System.nanoTime();
            try (RawHttp client = RawHttp.connect(gateway, 10_000)) {
                HttpWire.Message response = client.send("GET /new/" + n + " HTTP/1.1\r\nHost: a\r\nConnection: close"
                        + "\r\n\r\n").response();
                if (response.second().equals("200")) {
                    answered.incrementAndGet();
                } else {
                    failures.add("connection " + n + ": " + response.second());
                }
            } catch (IOException | RuntimeException e) {
                failures.add("connection " + n + " (opened at +" + (at - start) / 1_000_000 + " ms, failed at +"
                        + (System.nanoTime() - start) / 1_000_000 + " ms): " + e);
            }
        }

        void stop() throws InterruptedException {
            clock.shutdownNow();
            clients.shutdown();
            clients.awaitTermination(20, TimeUnit.SECONDS);
        }

        List<String> failures() {
            return List.copyOf(failures);
        }

        long answered() {
            return answered.get();
        }

        @Override
        public void close() throws InterruptedException {
            stop();
        }
    }
}
