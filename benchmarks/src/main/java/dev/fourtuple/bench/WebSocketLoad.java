package dev.fourtuple.bench;

import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.ssl.SslContext;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.jspecify.annotations.Nullable;

/**
 * A WebSocket load generator on Netty's epoll transport: opens many tunnels ({@link TunnelClients}) from
 * several source addresses (a few hundred bytes of client state each, no thread each), then either leaves
 * them idle or runs an echo loop on them — one message in flight per connection, its round trip recorded in
 * an HdrHistogram.
 *
 * <p>After the handshake a connection's pipeline is just the WebSocket frame codec and the echo driver (behind
 * an SslHandler for {@code wss://}).
 */
public final class WebSocketLoad implements AutoCloseable {
    private static final int OPEN_CONCURRENCY = 256;
    private static final Duration OPEN_TIMEOUT = Duration.ofSeconds(15);

    private final TunnelClients clients;

    public WebSocketLoad(int threads) {
        this(threads, null);
    }

    /** @param tls the client context for {@code wss://} URIs (null: {@code ws://} only) */
    public WebSocketLoad(int threads, @Nullable SslContext tls) {
        this.clients = new TunnelClients(TransportKind.EPOLL, threads, tls);
    }

    /**
     * Opens {@code count} tunnels to {@code uri} at {@code target}, source addresses taken in turn from
     * {@code sources}, at most {@value #OPEN_CONCURRENCY} handshakes at a time.
     */
    public Opened open(InetSocketAddress target, URI uri, int count, List<InetAddress> sources) {
        List<Channel> open = new ArrayList<>(count);
        List<String> errors = new ArrayList<>();
        long start = System.nanoTime();
        for (int first = 0; first < count; first += OPEN_CONCURRENCY) {
            List<CompletableFuture<TunnelClients.Outcome>> batch = new ArrayList<>();
            for (int i = first; i < Math.min(count, first + OPEN_CONCURRENCY); i++) {
                batch.add(clients.open(target, uri, new InetSocketAddress(sources.get(i % sources.size()), 0),
                        OPEN_TIMEOUT));
            }
            for (CompletableFuture<TunnelClients.Outcome> future : batch) {
                TunnelClients.Outcome outcome = future.join();
                if (outcome.status() == TunnelClients.Status.OPEN && outcome.channel() != null) {
                    open.add(TunnelClients.handOver(outcome.channel()));
                } else {
                    errors.add(outcome.status() + " " + outcome.httpStatus() + " " + outcome.detail());
                }
            }
        }
        return new Opened(open, errors, Duration.ofNanos(System.nanoTime() - start));
    }

    /**
     * Tunnels that opened, the errors of those that did not, and how long opening took.
     */
    public record Opened(List<Channel> channels, List<String> errors, Duration took) {
        public long perSecond() {
            return Math.round(channels.size() / Math.max(1e-9, took.toNanos() / 1e9));
        }

        /** Closes every tunnel and waits until they are closed. */
        public void closeAll() {
            List<ChannelFuture> closing = new ArrayList<>();
            channels.forEach(c -> closing.add(c.close()));
            closing.forEach(f -> f.awaitUninterruptibly(5, TimeUnit.SECONDS));
        }
    }

    /**
     * Runs the echo loop on {@code tunnels}: each sends {@code size} bytes and, when they come back, the next.
     * Returns at once; the caller reads {@link EchoRun#window()} to measure and {@link EchoRun#stop} to end.
     */
    public EchoRun echo(List<Channel> tunnels, int size) {
        EchoRun run = new EchoRun(tunnels.size());
        byte[] payload = new byte[size];
        for (int i = 0; i < size; i++) {
            payload[i] = (byte) ('a' + i % 26);
        }
        for (Channel tunnel : tunnels) {
            EchoDriver driver = new EchoDriver(run, Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(payload)));
            tunnel.eventLoop().execute(() -> {
                tunnel.pipeline().addLast(driver);
                driver.send(tunnel);
            });
        }
        return run;
    }

    @Override
    public void close() {
        clients.close();
    }

    /** The echo loop over all connections: latencies since the last window, and a clean stop. */
    public static final class EchoRun {
        private final Recorder latencies = new Recorder(3);
        private final AtomicLong errors = new AtomicLong();
        private final CountDownLatch stopped;
        private volatile boolean running = true;

        EchoRun(int connections) {
            this.stopped = new CountDownLatch(connections);
        }

        /** Round trips (nanoseconds) recorded since the previous call; the first call starts a window. */
        public Histogram window() {
            return latencies.getIntervalHistogram();
        }

        /** Echoes that came back wrong, or connections that closed while running. */
        public long errors() {
            return errors.get();
        }

        /** Lets every connection finish its message in flight, then returns. */
        public boolean stop(Duration timeout) throws InterruptedException {
            running = false;
            return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** One connection's echo loop: a single message in flight, timed from write to the echo's arrival. */
    private static final class EchoDriver extends SimpleChannelInboundHandler<WebSocketFrame> {
        private final EchoRun run;
        private final ByteBuf payload;
        private long sentAt;
        private boolean done;

        EchoDriver(EchoRun run, ByteBuf payload) {
            this.run = run;
            this.payload = payload;
        }

        void send(Channel channel) {
            sentAt = System.nanoTime();
            channel.writeAndFlush(new BinaryWebSocketFrame(payload.duplicate()));
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
            long now = System.nanoTime();
            if (!(frame instanceof BinaryWebSocketFrame) || !frame.content().equals(payload)) {
                run.errors.incrementAndGet();
            }
            run.latencies.recordValue(now - sentAt);
            if (run.running) {
                send(ctx.channel());
            } else {
                finish();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (run.running) {
                run.errors.incrementAndGet();
            }
            finish();
        }

        private void finish() {
            if (!done) {
                done = true;
                run.stopped.countDown();
            }
        }
    }
}
