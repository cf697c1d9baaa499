package dev.fourtuple.gateway.integration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.FrameEchoBackend;
import dev.fourtuple.gateway.testing.GatewayProcess;
import dev.fourtuple.gateway.testing.RawWebSocketClient;
import dev.fourtuple.gateway.testing.ReceivedFrames;
import dev.fourtuple.gateway.testing.WebSocketWire;
import dev.fourtuple.gateway.transport.TransportKind;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * SIGTERM to the gateway process with drain-spread = 5s over 500 WebSocket tunnels, 50 of them in the middle
 * of large fragmented messages both ways (10 of those writing flat out and reading slowly): every client gets
 * an intact Close 1001 at a frame boundary, the closes are spread over the window, every backend connection
 * gets a masked Close 1001 at a frame boundary, and the process exits 0. Clients and backend read raw frames
 * off their sockets ({@link WebSocketWire}), so a cut frame, a Close inside a frame or a byte out of place is
 * seen as it was on the wire. Both answer a Close with a Close and close their socket once the stream they
 * read has ended, as WebSocket peers do (RFC 6455 §5.5.1, §7.1.1).
 */
@ParameterizedClass
@EnumSource(TransportKind.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SigtermDrainIntegrationTest {
    private static final int TUNNELS = 500;
    private static final int STREAMING = 50;
    private static final Duration SPREAD = Duration.ofSeconds(5);
    private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(20);
    private static final int HELLO = 8;
    /** 1 MiB messages in 16 fragments of 64 KiB, each fragment in 8 writes 20 ms apart: 2.6 s a message. */
    private static final int MESSAGE = 1024 * 1024;
    private static final int FRAGMENT = 64 * 1024;
    private static final int CHUNK = 8 * 1024;
    private static final Duration PAUSE = Duration.ofMillis(20);
    /**
     * The first 10 streaming clients write with hardly a pause (1 ms per 8 KiB) and read at most 16 KiB per
     * 5 ms, through a fixed 64 KiB SO_RCVBUF: their echo backs up, so that when the drain ends such a tunnel
     * there are bytes of the client's unread at the gateway and bytes for it still unsent in the gateway's
     * socket, the Close among them, and the backend streams its echo without a pause at a frame's end.
     */
    private static final int SLOW_READERS = 10;
    private static final Duration SLOW_READ_PAUSE = Duration.ofMillis(5);
    private static final Duration SLOW_READER_WRITE_PAUSE = Duration.ofMillis(1);
    private static final int SLOW_READER_RCVBUF = 64 * 1024;

    @Parameter
    TransportKind transport;

    @TempDir
    Path dir;

    @RegisterExtension
    final Closer closer = new Closer();

    @Test
    void sigtermClosesEveryTunnelBothWaysWithAnIntactClose1001AtAFrameBoundarySpreadOverTheWindow()
            throws Exception {
        FrameEchoBackend backend = closer.track(FrameEchoBackend.start());
        GatewayProcess gateway = closer.track(GatewayProcess.start(dir, """
                listen = "127.0.0.1:0"
                admin.listen = off
                transport = %s
                drain-timeout = %ds
                drain-spread = %ds
                drain-close-code = going-away
                clusters { ws { backends = ["%s"] } }
                routes = [ { cluster = ws } ]
                """.formatted(transport.name().toLowerCase(Locale.ROOT), DRAIN_TIMEOUT.toSeconds(),
                SPREAD.toSeconds(), backend.hostPort()), 0, "-Xmx256m"));
        InetSocketAddress address = gateway.address(Duration.ofSeconds(30));

        List<RawWebSocketClient> clients = connect(address);
        // Every tunnel is up end to end: each client has its hello back from the backend.
        await().atMost(Duration.ofSeconds(30))
                .until(() -> clients.stream().allMatch(c -> c.received().dataBytes() == HELLO));
        assertThat(backend.connections()).hasSize(TUNNELS);

        List<RawWebSocketClient> streaming = clients.subList(0, STREAMING);
        for (int i = 0; i < STREAMING; i++) {
            RawWebSocketClient client = streaming.get(i);
            if (i < SLOW_READERS) {
                client.readSlowly(SLOW_READ_PAUSE);
                client.streamFragmented(MESSAGE, FRAGMENT, CHUNK, SLOW_READER_WRITE_PAUSE);
            } else {
                client.streamFragmented(MESSAGE, FRAGMENT, CHUNK, PAUSE);
            }
        }
        // Each streaming client has a whole fragment back and is inside its first message both ways when the
        // drain starts.
        await().atMost(Duration.ofSeconds(30))
                .until(() -> streaming.stream().allMatch(c -> c.received().dataBytes() >= HELLO + FRAGMENT));

        long sigterm = System.nanoTime();
        gateway.process().destroy(); // SIGTERM

        // Every client's stream ends: after a Close (each answers it, RFC 6455 §5.5.1), or cut at the
        // drain-timeout at the latest.
        await().atMost(DRAIN_TIMEOUT.plusSeconds(10))
                .until(() -> clients.stream().allMatch(c -> c.received().ended().isDone()));

        List<String> clientProblems = new ArrayList<>();
        List<Long> closedAt = new ArrayList<>();
        int streamingMidMessage = 0;
        for (int i = 0; i < TUNNELS; i++) {
            ReceivedFrames received = clients.get(i).received();
            String problem = closeProblem(received, false);
            if (problem != null) {
                clientProblems.add("client-" + i + ": " + problem + " (stream ended: " + received.ended().join() + ")");
                continue;
            }
            ReceivedFrames.Close close = Objects.requireNonNull(received.close());
            closedAt.add(close.atNanos());
            if (i < STREAMING) {
                if (received.dataBytes() < HELLO + FRAGMENT) {
                    clientProblems.add("client-" + i + ": streaming client with " + received.dataBytes() + " bytes");
                }
                streamingMidMessage += close.midMessage() ? 1 : 0;
            }
        }

        // The backend side: every connection ends after a masked Close 1001 at a frame boundary.
        await().atMost(Duration.ofSeconds(10))
                .until(() -> backend.connections().stream().allMatch(c -> c.received().ended().isDone()));
        List<String> backendProblems = new ArrayList<>();
        int backendMidMessage = 0;
        List<FrameEchoBackend.Conn> connections = backend.connections();
        for (int i = 0; i < connections.size(); i++) {
            ReceivedFrames received = connections.get(i).received();
            String problem = closeProblem(received, true);
            if (problem != null) {
                backendProblems.add("backend connection " + i + ": " + problem + " (stream ended: "
                        + received.ended().join() + ")");
            } else {
                backendMidMessage += Objects.requireNonNull(received.close()).midMessage() ? 1 : 0;
            }
        }
        assertThat(clientProblems).as("clients without an intact Close 1001 at a frame boundary (backend side: %s)",
                backendProblems).isEmpty();
        assertThat(backendProblems).as("backend connections without a masked Close 1001 at a frame boundary")
                .isEmpty();

        // The drain hit the streaming tunnels inside their messages, both ways (RFC 6455 §5.4: a control frame
        // may come between the fragments of a message), not between two. Of 16 frame boundaries of a message
        // one is its end: about 47 of the 50 are inside one; half is a floor no fair run misses.
        assertThat(streamingMidMessage).as("streaming clients whose Close came inside a fragmented message")
                .isGreaterThanOrEqualTo(STREAMING / 2);
        assertThat(backendMidMessage).as("backend connections whose Close came inside a fragmented message")
                .isGreaterThanOrEqualTo(STREAMING / 2);

        // The closes are spread over drain-spread, not all at once: 500 at random within 5 s all within 3 s
        // of each other has odds below 1e-100. All come before the drain-timeout, and within the spread plus
        // what a frame under way, a slow reader's backlog and a loaded machine add (the cap of 80% of
        // drain-timeout would be 16 s).
        long first = closedAt.stream().mapToLong(Long::longValue).min().orElseThrow();
        long last = closedAt.stream().mapToLong(Long::longValue).max().orElseThrow();
        assertThat(Duration.ofNanos(last - first)).as("first to last Close")
                .isGreaterThanOrEqualTo(Duration.ofSeconds(3));
        assertThat(Duration.ofNanos(last - sigterm)).as("SIGTERM to the last Close")
                .isLessThan(DRAIN_TIMEOUT)
                .isLessThan(SPREAD.plusSeconds(3));

        // The process: every tunnel closed by the drain itself (none left for the timeout), then exit 0.
        assertThat(gateway.process().waitFor(15, TimeUnit.SECONDS)).as("gateway exited").isTrue();
        assertThat(gateway.logText()).as("the drain closed every tunnel before its timeout")
                .contains("draining: listener closed, " + TUNNELS + " client connection(s) open")
                .doesNotContain("drain timeout: closing");
        assertThat(gateway.process().exitValue()).as("exit code after the drain").isZero();
    }

    /** Opens the tunnels, 16 handshakes at a time, each client sending its hello; in order client-0, client-1... */
    private List<RawWebSocketClient> connect(InetSocketAddress address) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            List<Future<RawWebSocketClient>> opening = new ArrayList<>();
            for (int i = 0; i < TUNNELS; i++) {
                String name = "client-" + i;
                boolean slow = i < SLOW_READERS;
                opening.add(pool.submit(() -> {
                    RawWebSocketClient client = RawWebSocketClient.connect(address, "/ws", name,
                            slow ? SLOW_READER_RCVBUF : 0);
                    synchronized (closer) {
                        closer.track(client);
                    }
                    client.sendBinary(HELLO);
                    return client;
                }));
            }
            List<RawWebSocketClient> clients = new ArrayList<>();
            for (Future<RawWebSocketClient> client : opening) {
                clients.add(client.get(30, TimeUnit.SECONDS));
            }
            return clients;
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * What is wrong with how a stream ended, or null when it ended as a drain must end it: frames all whole
     * and on the pattern, then one Close with status 1001 and no reason (RFC 6455 §5.5.1, §7.4.1), to the
     * client unmasked (§5.1), to the backend masked (§5.3), and nothing after it (§5.5.1, which
     * {@link ReceivedFrames} reports as a problem). The Close is the gateway's, or the other peer's answer to
     * the gateway's Close when that came through first (same status: both peers here echo it); either way
     * the only one. A Close put inside a frame shows as that frame's data off the pattern, or as no Close at
     * all; a frame cut short as a stream that ended inside a frame.
     */
    private static @Nullable String closeProblem(ReceivedFrames received, boolean masked) {
        if (received.problem() != null) {
            return received.problem();
        }
        ReceivedFrames.Close close = received.close();
        if (close == null) {
            return "no Close";
        }
        WebSocketWire.Header header = close.header();
        if (header.opcode() != WebSocketWire.CLOSE || !header.fin() || header.masked() != masked
                || header.length() != 2) {
            return "not a well-formed Close with a status and no reason: " + header;
        }
        if (close.payload()[0] != 0x03 || (close.payload()[1] & 0xFF) != 0xE9) {
            return "Close status " + close.code() + ", not 1001 (going away)";
        }
        return null;
    }
}
