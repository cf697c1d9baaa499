package dev.fourtuple.bench;

import dev.fourtuple.gateway.transport.EventLoops;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshakerFactory;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
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

/**
 * A WebSocket load generator on Netty's epoll transport: opens many tunnels from several source addresses
 * (a few hundred bytes of client state each, no thread each), then either leaves them idle or runs an echo
 * loop on them — one message in flight per connection, its round trip recorded in an HdrHistogram.
 *
 * <p>After the handshake a connection's pipeline is just the WebSocket frame codec and the echo driver.
 */
public final class WebSocketLoad implements AutoCloseable {
    private static final int OPEN_CONCURRENCY = 256;

    private final EventLoops loops;
    private final Bootstrap bootstrap;

    public WebSocketLoad(int threads) {
        this.loops = EventLoops.start(TransportKind.EPOLL, threads, "load");
        this.bootstrap = new Bootstrap()
                .group(loops.group())
                .channelFactory(TransportKind.EPOLL.socketChannelFactory(SocketProtocolFamily.INET))
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000);
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
            List<CompletableFuture<Channel>> batch = new ArrayList<>();
            for (int i = first; i < Math.min(count, first + OPEN_CONCURRENCY); i++) {
                batch.add(openOne(target, uri, new InetSocketAddress(sources.get(i % sources.size()), 0)));
            }
            for (CompletableFuture<Channel> future : batch) {
                try {
                    open.add(future.get(15, TimeUnit.SECONDS));
                } catch (Exception e) {
                    errors.add(String.valueOf(e.getCause() == null ? e : e.getCause()));
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

    private CompletableFuture<Channel> openOne(InetSocketAddress target, URI uri, InetSocketAddress local) {
        CompletableFuture<Channel> done = new CompletableFuture<>();
        WebSocketClientHandshaker handshaker = WebSocketClientHandshakerFactory.newHandshaker(
                uri, WebSocketVersion.V13, null, false, new DefaultHttpHeaders(), 64 * 1024);
        Bootstrap b = bootstrap.clone().handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(8192),
                        new Handshake(handshaker, done));
            }
        });
        b.connect(target, local).addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                done.completeExceptionally(f.cause());
            }
        });
        return done;
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
        loops.shutdown(Duration.ofSeconds(5));
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

    /** The opening handshake; on 101 the tunnel is handed to the caller. */
    private static final class Handshake extends SimpleChannelInboundHandler<FullHttpResponse> {
        private final WebSocketClientHandshaker handshaker;
        private final CompletableFuture<Channel> done;

        Handshake(WebSocketClientHandshaker handshaker, CompletableFuture<Channel> done) {
            this.handshaker = handshaker;
            this.done = done;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            handshaker.handshake(ctx.channel());
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse response) {
            try {
                handshaker.finishHandshake(ctx.channel(), response);
                ctx.pipeline().remove(this);
                done.complete(ctx.channel());
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
                ctx.close();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            done.completeExceptionally(new IllegalStateException("closed during the handshake"));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            done.completeExceptionally(cause);
            ctx.close();
        }
    }
}
