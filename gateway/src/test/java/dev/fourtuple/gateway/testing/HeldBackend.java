package dev.fourtuple.gateway.testing;

import dev.fourtuple.gateway.transport.EventLoops;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A backend that answers no request until the test says so: each is held (a long-poll whose event has not
 * happened) until {@link #release()} answers every one {@code 200 released}. For tests that need many
 * requests waiting at once without racing a timer. One event loop; requests after the release are answered
 * at once.
 */
public final class HeldBackend implements AutoCloseable {
    /** The body of every answer. */
    public static final String BODY = "released\n";

    private final EventLoops loops;
    private Channel channel; // set once by start(), before anyone knows the address
    /** Confined to the loop. */
    private final Queue<Held> held = new ArrayDeque<>();
    private final AtomicInteger holding = new AtomicInteger();
    private final AtomicLong lastArrival = new AtomicLong();
    private boolean released; // confined to the loop

    private record Held(ChannelHandlerContext ctx, boolean keepAlive) {
    }

    private HeldBackend(EventLoops loops) {
        this.loops = loops;
    }

    public static HeldBackend start() throws InterruptedException {
        HeldBackend backend = new HeldBackend(EventLoops.start(TransportKind.NIO, 1, "held-backend"));
        try {
            InetSocketAddress address = new InetSocketAddress("127.0.0.1", 0);
            backend.channel = new ServerBootstrap()
                    .group(backend.loops.group())
                    .channelFactory(TransportKind.NIO.serverChannelFactory(address.getAddress()))
                    .option(ChannelOption.SO_BACKLOG, 4096)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new HttpServerCodec()).addLast(new ChannelInboundHandlerAdapter() {
                                @Override
                                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                    try {
                                        if (msg instanceof HttpRequest request) {
                                            backend.arrived(ctx, HttpUtil.isKeepAlive(request));
                                        }
                                    } finally {
                                        ReferenceCountUtil.release(msg);
                                    }
                                }
                            });
                        }
                    })
                    .bind(address).sync().channel();
        } catch (InterruptedException | RuntimeException e) {
            backend.loops.shutdown(Duration.ofSeconds(2));
            throw e;
        }
        return backend;
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** Requests held now. */
    public int holding() {
        return holding.get();
    }

    /** How long the request that came last has been held; zero before any. */
    public Duration shortestHold() {
        long last = lastArrival.get();
        return last == 0 ? Duration.ZERO : Duration.ofNanos(System.nanoTime() - last);
    }

    /** Answers every held request, and every later one at once. */
    public void release() {
        loops.loops().get(0).execute(() -> {
            released = true;
            Held next;
            while ((next = held.poll()) != null) {
                holding.decrementAndGet();
                answer(next);
            }
        });
    }

    private void arrived(ChannelHandlerContext ctx, boolean keepAlive) {
        Held request = new Held(ctx, keepAlive);
        if (released) {
            answer(request);
            return;
        }
        held.add(request);
        holding.incrementAndGet();
        lastArrival.set(System.nanoTime());
    }

    private static void answer(Held request) {
        byte[] body = BODY.getBytes(StandardCharsets.UTF_8);
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                Unpooled.wrappedBuffer(body));
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        HttpUtil.setKeepAlive(response, request.keepAlive());
        request.ctx().writeAndFlush(response);
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        loops.shutdown(Duration.ofSeconds(2));
    }
}
