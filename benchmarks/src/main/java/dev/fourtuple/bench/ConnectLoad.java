package dev.fourtuple.bench;

import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.channel.Channel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * WebSocket connects back to back, the way a fleet of clients arrives after a deploy: each one a new TCP
 * connection, the upgrade ({@code GET /ws}, 101), one 64-byte text frame echoed, then the client's TCP close;
 * {@code concurrency} in flight (a sliding window: as soon as one ends the next starts, from the next source
 * address) until {@code count} have started. Each connect's time, from the TCP connect to the close, goes into
 * an HdrHistogram.
 *
 * <p>Why the client closes without a WebSocket Close frame: after a Close handshake the server side closes the
 * TCP connection first (RFC 6455 §7.1.1), so the proxy would forward the backend's FIN and be the first to close
 * towards the client, leaving a TIME_WAIT socket on its listening side for every connect. With the client's FIN
 * first, the TIME_WAIT stays on the client's own sockets (loopback reuses them, {@code net.ipv4.tcp_tw_reuse = 2})
 * and the proxy closes its upstream side as it would for a client that went away.
 *
 * <p>The handshake and the echo are {@link TunnelClients}' own ({@link TunnelClients#open}, {@link
 * TunnelClients#echo}); this class adds only the window, the timing and the counts.
 */
public final class ConnectLoad implements AutoCloseable {
    private static final Duration OPEN_TIMEOUT = Duration.ofSeconds(15);
    private static final Duration ECHO_TIMEOUT = Duration.ofSeconds(10);
    /** Distinct error messages kept for the report (e.g. "Cannot assign requested address"). */
    private static final int ERRORS_KEPT = 3;

    private final TunnelClients clients;
    private final String message;

    /** @param messageBytes the echoed text frame's length (ASCII: one byte per character) */
    public ConnectLoad(int threads, int messageBytes) {
        this.clients = new TunnelClients(TransportKind.EPOLL, threads);
        this.message = "x".repeat(messageBytes);
    }

    /**
     * Runs {@code count} connects to {@code uri} at {@code target}, {@code concurrency} in flight, source
     * addresses in turn from {@code sources}; returns when all have ended or after {@code limit} (the ones not
     * started by then are left out of {@link Result#attempted()}).
     */
    public Result run(InetSocketAddress target, URI uri, int count, int concurrency, List<InetAddress> sources,
            Duration limit) throws InterruptedException {
        Window window = new Window(target, uri, count, sources, Math.min(count, concurrency));
        long start = System.nanoTime();
        for (int lane = 0; lane < window.lanes; lane++) {
            window.next();
        }
        boolean finished = window.done.await(limit.toMillis(), TimeUnit.MILLISECONDS);
        window.stopped = true; // past the limit: no new connects (those in flight end by their own timeouts)
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        Histogram times = window.times.getIntervalHistogram();
        List<String> errors;
        synchronized (window.errorKinds) {
            errors = List.copyOf(window.errorKinds);
        }
        return new Result(Math.min(count, window.started.get()), window.completed.get(), window.errors.get(),
                finished, took, times, errors);
    }

    /**
     * @param attempted connects started
     * @param completed those that did it all (101, the echo back intact, closed)
     * @param errors    those that failed (connect, upgrade refused or broken, echo wrong or late)
     * @param finished  false when the time limit ended the run first
     * @param took      wall time from the first connect to the last one's end
     * @param times     each completed connect's time, nanoseconds
     * @param errorKinds the first few distinct error messages
     */
    public record Result(int attempted, int completed, int errors, boolean finished, Duration took, Histogram times,
            List<String> errorKinds) {

        public double perSecond() {
            return completed / Math.max(1e-9, took.toNanos() / 1e9);
        }
    }

    @Override
    public void close() {
        clients.close();
    }

    /**
     * The sliding window. Concurrency note: a lane's next connect is started from the callback of its last one,
     * on whichever client event loop ran it; {@code started} hands out the numbers, so no more than {@code count}
     * start and each source address gets its share.
     */
    private final class Window {
        private final InetSocketAddress target;
        private final URI uri;
        private final int count;
        private final List<InetAddress> sources;
        private final int lanes;
        private final AtomicInteger started = new AtomicInteger();
        private final AtomicInteger completed = new AtomicInteger();
        private final AtomicInteger errors = new AtomicInteger();
        private final AtomicLong ended = new AtomicLong();
        private final Recorder times = new Recorder(3);
        private final List<String> errorKinds = new ArrayList<>();
        private final CountDownLatch done = new CountDownLatch(1);
        private volatile boolean stopped;

        Window(InetSocketAddress target, URI uri, int count, List<InetAddress> sources, int lanes) {
            this.target = target;
            this.uri = uri;
            this.count = count;
            this.sources = sources;
            this.lanes = lanes;
            if (count == 0) {
                done.countDown();
            }
        }

        /** Starts the next connect of a lane, or ends the lane. */
        void next() {
            int n = started.getAndIncrement();
            if (n >= count || stopped) {
                return;
            }
            long begin = System.nanoTime();
            InetSocketAddress local = new InetSocketAddress(sources.get(n % sources.size()), 0);
            clients.open(target, uri, local, OPEN_TIMEOUT).whenComplete((outcome, failure) -> {
                Channel channel = outcome == null ? null : outcome.channel();
                if (outcome == null || outcome.status() != TunnelClients.Status.OPEN || channel == null) {
                    fail(outcome == null ? String.valueOf(failure)
                            : outcome.status() + " " + outcome.httpStatus() + " " + outcome.detail());
                    return;
                }
                TunnelClients.echo(channel, message, ECHO_TIMEOUT).whenComplete((echoed, echoFailure) -> {
                    // The client's FIN first: see the class comment.
                    channel.close().addListener(closed -> {
                        if (Boolean.TRUE.equals(echoed)) {
                            times.recordValue(System.nanoTime() - begin);
                            completed.incrementAndGet();
                            end();
                        } else {
                            fail("echo: " + (echoFailure == null ? "no or wrong echo within " + ECHO_TIMEOUT
                                    : echoFailure));
                        }
                    });
                });
            });
        }

        private void fail(String why) {
            errors.incrementAndGet();
            synchronized (errorKinds) {
                if (errorKinds.size() < ERRORS_KEPT && errorKinds.stream().noneMatch(why::equals)) {
                    errorKinds.add(why);
                }
            }
            end();
        }

        /** One connect ended: start the lane's next; the last one to end opens the latch. */
        private void end() {
            if (ended.incrementAndGet() >= count) {
                done.countDown();
            } else {
                clients.execute(this::next);
            }
        }
    }
}
