package dev.fourtuple.gateway.integration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.EchoBackendProcess;
import dev.fourtuple.gateway.testing.GatewayProcess;
import dev.fourtuple.gateway.testing.Haproxy;
import dev.fourtuple.gateway.testing.RawWebSocketClient;
import dev.fourtuple.gateway.testing.ReceivedFrames;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A fleet of three gateway processes behind HAProxy in TCP mode (the L4 balancer), which health-checks each
 * gateway's /readyz on its admin port, all in front of one echo backend. While new connections arrive at 100 a
 * second (one HTTP request each) and 30 WebSocket tunnels are held open (each one a drain closes is reopened,
 * as a client does on a 1001), the gateways are restarted one after the other: SIGTERM, exit, start again on
 * the same ports, HAProxy sees it up, then the next. No new connection or request may fail, and every tunnel a
 * drain ends must end with the drain's Close 1001 and a FIN, not a reset.
 *
 * <p>What makes the first hold: drain-delay. On SIGTERM the gateway says 503 on /readyz while its listener still
 * accepts; HAProxy marks it down within fall x inter (2 x 200 ms) and sends it nothing new; only then does the
 * listener close. Without it the listener closes at once and, until the next check, HAProxy still picks that
 * server: a refused connect it can redispatch (retries + option redispatch, set here too), but a connection the
 * kernel had already accepted into the closing listener's queue is reset after HAProxy has passed it the
 * client's bytes, which no balancer can retry.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class FleetRollingRestartIntegrationTest {
    private static final int GATEWAYS = 3;
    private static final int TUNNELS = 30;
    private static final int HELLO = 8;
    private static final Duration DRAIN_DELAY = Duration.ofSeconds(2);
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(10);
    /** HAProxy's check interval; fall 2 / rise 2: down or up after two checks in a row. */
    private static final Duration CHECK_INTERVAL = Duration.ofMillis(200);
    private static final Pattern TUNNELS_OPEN = Pattern.compile("\"tunnels\" : (\\d+)");

    @TempDir
    Path dir;

    @RegisterExtension
    final Closer closer = new Closer();

    @Test
    void aRollingRestartOfThreeGatewaysBehindHaproxyFailsNoNewConnectionAndDrainsEveryTunnelWith1001()
            throws Exception {
        EchoBackendProcess backend = closer.track(EchoBackendProcess.start(dir, "echo"));
        int[] listen = new int[GATEWAYS];
        int[] admin = new int[GATEWAYS];
        for (int i = 0; i < GATEWAYS; i++) {
            listen[i] = freePort();
            admin[i] = freePort();
        }
        int front = freePort();
        GatewayProcess[] gateways = new GatewayProcess[GATEWAYS];
        for (int i = 0; i < GATEWAYS; i++) {
            gateways[i] = startGateway(i, 0, listen[i], admin[i], backend.address().getPort());
        }
        Haproxy haproxy = closer.track(Haproxy.start(dir, haproxyConfig(front, listen, admin)));
        for (int i = 0; i < GATEWAYS; i++) {
            awaitStatus(haproxy, i, "UP", Duration.ofSeconds(30));
        }
        InetSocketAddress balancer = new InetSocketAddress("127.0.0.1", front);

        Tunnels tunnels = closer.track(new Tunnels(balancer));
        tunnels.open(TUNNELS);
        tunnels.awaitAllUp(Duration.ofSeconds(30));
        HandoverIntegrationTest.NewConnections arrivals =
                closer.track(HandoverIntegrationTest.NewConnections.everyTenMillis(balancer));
        long loadStart = System.nanoTime();
        // Some steady traffic before the first restart, so the fleet is seen serving it.
        await().atMost(Duration.ofSeconds(30)).until(() -> arrivals.answered() >= 100);

        List<String> steps = new ArrayList<>();
        long drainedTotal = 0;
        for (int i = 0; i < GATEWAYS; i++) {
            tunnels.awaitAllUp(Duration.ofSeconds(30));
            long[] open = new long[GATEWAYS];
            for (int g = 0; g < GATEWAYS; g++) {
                open[g] = number(TUNNELS_OPEN, gateways[g].adminGet("/status"));
            }
            assertThat(Arrays.stream(open).sum()).as("held tunnels on the gateways, by /status: %s",
                    Arrays.toString(open)).isEqualTo(TUNNELS);
            assertThat(open[i]).as("tunnels on gateway %d when it is told to stop (else its drain proves nothing)",
                    i + 1).isPositive();
            long cleanBefore = tunnels.clean();

            long sigterm = System.nanoTime();
            gateways[i].process().destroy(); // SIGTERM, by pid
            awaitStatus(haproxy, i, "DOWN", Duration.ofSeconds(10));
            Duration down = since(sigterm);
            assertThat(gateways[i].process().waitFor(DRAIN_DELAY.plus(DRAIN_TIMEOUT).plusSeconds(20).toMillis(),
                    TimeUnit.MILLISECONDS)).as("gateway %d exits after its drain", i + 1).isTrue();
            Duration exited = since(sigterm);
            assertThat(gateways[i].process().exitValue()).as("exit code of gateway %d:\n%s", i + 1,
                    gateways[i].logText()).isZero();
            assertThat(gateways[i].logText()).as("gateway %d drained every tunnel before the timeout", i + 1)
                    .contains("draining: not ready, listener open for")
                    .doesNotContain("drain timeout: closing");
            long drainedHere = open[i];
            await().atMost(Duration.ofSeconds(10)).until(() -> tunnels.clean() - cleanBefore >= drainedHere);
            drainedTotal += drainedHere;

            long restart = System.nanoTime();
            gateways[i] = startGateway(i, 1, listen[i], admin[i], backend.address().getPort());
            awaitStatus(haproxy, i, "UP", Duration.ofSeconds(30));
            Duration up = since(restart);
            steps.add("gateway %d: %d tunnel(s) drained, SIGTERM to HAProxy DOWN %d ms, to exit %d ms, start to "
                    .formatted(i + 1, drainedHere, down.toMillis(), exited.toMillis())
                    + "HAProxy UP %d ms, whole step %d ms".formatted(up.toMillis(), since(sigterm).toMillis()));
            // The condition drain-delay is there for: HAProxy had stopped sending to it before the listener closed.
            assertThat(down).as("SIGTERM to HAProxy marking gateway %d down, within drain-delay", i + 1)
                    .isLessThan(DRAIN_DELAY);
        }
        tunnels.awaitAllUp(Duration.ofSeconds(30));
        arrivals.stop();
        Duration run = since(loadStart);

        String summary = "rolling restart of %d gateways: %d new connections answered in %d s, %d failed; "
                .formatted(GATEWAYS, arrivals.answered(), run.toSeconds(), arrivals.failures().size())
                + "%d tunnel(s) closed by drains, %d with an intact Close 1001 and a FIN; %d reopened, %d failed to reopen"
                        .formatted(tunnels.ended(), tunnels.clean(), tunnels.reopened(), tunnels.openFailures().size());
        System.out.println("fleet: " + summary);
        steps.forEach(step -> System.out.println("fleet: " + step));

        assertThat(arrivals.failures()).as("new connections that failed during the rolling restart (%s)", summary)
                .isEmpty();
        assertThat(tunnels.openFailures()).as("tunnels that could not be (re)opened through the fleet").isEmpty();
        assertThat(tunnels.problems()).as("tunnels that did not end with a Close 1001 and a FIN").isEmpty();
        assertThat(tunnels.clean()).as("tunnels drained with 1001: every one the gateways held at their SIGTERM")
                .isEqualTo(drainedTotal).isEqualTo(tunnels.ended());
        // 100 a second were scheduled for the whole run; a loaded 2-core machine may fall behind, not to a trickle.
        assertThat(arrivals.answered()).as("new connections answered").isGreaterThan(run.toSeconds() * 50);
    }

    private GatewayProcess startGateway(int index, int run, int listen, int admin, int backendPort)
            throws IOException {
        Path home = Files.createDirectories(dir.resolve("gateway-" + (index + 1) + "-run-" + run));
        GatewayProcess gateway = closer.track(GatewayProcess.start(home, """
                listen = "127.0.0.1:%d"
                admin.listen = "127.0.0.1:%d"
                drain-delay = %dms
                drain-timeout = %ds
                drain-spread = 1s
                drain-close-code = going-away
                clusters { echo { backends = ["127.0.0.1:%d"] } }
                routes = [ { cluster = echo } ]
                """.formatted(listen, admin, DRAIN_DELAY.toMillis(), DRAIN_TIMEOUT.toSeconds(), backendPort), 0,
                "-Xmx192m", "-XX:TieredStopAtLevel=1"));
        gateway.address(Duration.ofSeconds(30));
        return gateway;
    }

    /**
     * TCP mode (the gateway sees the client's bytes untouched, a WebSocket is just a long connection); leastconn,
     * as for any long-lived connections; an HTTP check of /readyz on each admin port; a refused connect retried
     * on another server (redispatch on every retry).
     */
    private String haproxyConfig(int front, int[] listen, int[] admin) {
        StringBuilder servers = new StringBuilder();
        for (int i = 0; i < GATEWAYS; i++) {
            servers.append("  server g%d 127.0.0.1:%d check port %d\n".formatted(i + 1, listen[i], admin[i]));
        }
        return """
                global
                  stats socket %s mode 600 level admin
                  maxconn 4096
                defaults
                  mode tcp
                  timeout connect 2s
                  timeout client 2m
                  timeout server 2m
                  retries 3
                  option redispatch 1
                listen gateways
                  bind 127.0.0.1:%d
                  balance leastconn
                  option httpchk
                  http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host admin hdr Connection close
                  http-check expect status 200
                  default-server inter %dms fall 2 rise 2
                %s""".formatted(Haproxy.statsSocket(dir), front, CHECK_INTERVAL.toMillis(), servers);
    }

    private static void awaitStatus(Haproxy haproxy, int index, String status, Duration timeout) {
        await().atMost(timeout).pollInterval(Duration.ofMillis(20))
                .until(() -> haproxy.serverStatus("gateways", "g" + (index + 1)), status::equals);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static Duration since(long nanos) {
        return Duration.ofNanos(System.nanoTime() - nanos);
    }

    private static long number(Pattern pattern, String text) {
        Matcher m = pattern.matcher(text);
        if (!m.find()) {
            throw new AssertionError(pattern + " not in " + text);
        }
        return Long.parseLong(m.group(1));
    }

    /**
     * WebSocket tunnels held open through the balancer, each sending a hello that the backend echoes. A sweep
     * every 50 ms takes each tunnel whose stream ended, judges how it ended, and opens a new one in its place.
     */
    private static final class Tunnels implements AutoCloseable {
        private final InetSocketAddress balancer;
        private final List<RawWebSocketClient> live = new CopyOnWriteArrayList<>();
        private final Queue<String> problems = new ConcurrentLinkedQueue<>();
        private final Queue<String> openFailures = new ConcurrentLinkedQueue<>();
        private final AtomicLong clean = new AtomicLong();
        private final AtomicLong ended = new AtomicLong();
        private final AtomicLong reopened = new AtomicLong();
        private final AtomicLong names = new AtomicLong();
        private final ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor();

        Tunnels(InetSocketAddress balancer) {
            this.balancer = balancer;
            sweeper.scheduleWithFixedDelay(this::sweep, 50, 50, TimeUnit.MILLISECONDS);
        }

        void open(int n) {
            for (int i = 0; i < n; i++) {
                openOne();
            }
        }

        private void openOne() {
            String name = "tunnel-" + names.incrementAndGet();
            try {
                RawWebSocketClient client = RawWebSocketClient.connect(balancer, "/ws", name);
                client.sendBinary(HELLO);
                live.add(client);
            } catch (IOException | RuntimeException e) {
                openFailures.add(name + ": " + e);
            }
        }

        private void sweep() {
            for (RawWebSocketClient client : live) {
                ReceivedFrames received = client.received();
                if (!received.ended().isDone()) {
                    continue;
                }
                live.remove(client);
                ended.incrementAndGet();
                String how = received.ended().join();
                ReceivedFrames.Close close = received.close();
                if (received.problem() != null) {
                    problems.add(received.problem() + " (" + how + ")");
                } else if (close == null) {
                    problems.add("ended without a Close: " + how);
                } else if (close.code() != 1001) {
                    problems.add("Close " + close.code() + ", not 1001 (" + how + ")");
                } else if (!how.equals("end of stream")) {
                    problems.add("Close 1001, then not a FIN: " + how); // e.g. a reset after the Close
                } else {
                    clean.incrementAndGet();
                }
                reopened.incrementAndGet();
                openOne(); // a client reconnects after a 1001 (going away)
            }
        }

        /** Waits until TUNNELS tunnels are open and each has its hello echoed: up end to end. */
        void awaitAllUp(Duration timeout) {
            await().atMost(timeout).until(() -> live.size() == TUNNELS
                    && live.stream().allMatch(c -> c.received().dataBytes() == HELLO));
        }

        long clean() {
            return clean.get();
        }

        long ended() {
            return ended.get();
        }

        long reopened() {
            return reopened.get();
        }

        List<String> problems() {
            return List.copyOf(problems);
        }

        List<String> openFailures() {
            return List.copyOf(openFailures);
        }

        @Override
        public void close() throws IOException, InterruptedException {
            sweeper.shutdownNow();
            sweeper.awaitTermination(10, TimeUnit.SECONDS);
            for (RawWebSocketClient client : live) {
                client.close();
            }
        }
    }
}
