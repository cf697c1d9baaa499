package dev.fourtuple.gateway.ops;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.fourtuple.gateway.transport.EventLoops;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The admin HTTP server on its own single NIO event loop, apart from the gateway's loops and never subject to
 * admission: {@code /metrics} (Prometheus text), {@code /healthz}, {@code /readyz} (503 once draining starts),
 * {@code /status} (JSON). Pipeline: {@code [codec] → [aggregator] → [admin: AdminHandler]}.
 */
public final class AdminServer implements AutoCloseable {
    private static final int MAX_REQUEST = 16 * 1024;

    private final EventLoops loops;
    private final Channel channel;

    private AdminServer(EventLoops loops, Channel channel) {
        this.loops = loops;
        this.channel = channel;
    }

    /**
     * Binds and serves.
     *
     * @param metrics the Prometheus text exposition, fresh per call
     * @param status  the /status tree, fresh per call
     * @param ready   whether /readyz says 200
     */
    public static AdminServer start(InetSocketAddress address, Supplier<String> metrics,
            Supplier<Map<String, Object>> status, BooleanSupplier ready) throws InterruptedException {
        EventLoops loops = EventLoops.start(TransportKind.NIO, 1, "fourtuple-admin");
        try {
            AdminHandler handler = new AdminHandler(metrics, status, ready);
            Channel channel = new ServerBootstrap()
                    .group(loops.group())
                    .channelFactory(TransportKind.NIO.serverChannelFactory(address.getAddress()))
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline()
                                    .addLast("codec", new HttpServerCodec())
                                    .addLast("aggregator", new HttpObjectAggregator(MAX_REQUEST))
                                    .addLast("admin", handler);
                        }
                    })
                    .bind(address).sync().channel();
            return new AdminServer(loops, channel);
        } catch (Exception e) { // also the IOException a failed bind() throws unchecked
            loops.shutdown(Duration.ofSeconds(2));
            throw e;
        }
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        loops.shutdown(Duration.ofSeconds(2));
    }

    /** Answers the four admin paths; stateless, one instance for every connection. */
    @Sharable
    static final class AdminHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

        private final Supplier<String> metrics;
        private final Supplier<Map<String, Object>> status;
        private final BooleanSupplier ready;

        AdminHandler(Supplier<String> metrics, Supplier<Map<String, Object>> status, BooleanSupplier ready) {
            this.metrics = metrics;
            this.status = status;
            this.ready = ready;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) throws Exception {
            String path = new QueryStringDecoder(request.uri()).path();
            FullHttpResponse response;
            if (!request.method().equals(HttpMethod.GET) && !request.method().equals(HttpMethod.HEAD)) {
                response = text(HttpResponseStatus.METHOD_NOT_ALLOWED, "GET only\n");
            } else {
                response = switch (path) {
                    case "/metrics" -> respond(HttpResponseStatus.OK, metrics.get(),
                            "text/plain; version=0.0.4; charset=utf-8");
                    case "/healthz" -> text(HttpResponseStatus.OK, "ok\n");
                    case "/readyz" -> ready.getAsBoolean() ? text(HttpResponseStatus.OK, "ready\n")
                            : text(HttpResponseStatus.SERVICE_UNAVAILABLE, "not ready (starting or draining)\n");
                    case "/status" -> respond(HttpResponseStatus.OK, JSON.writeValueAsString(status.get()),
                            "application/json");
                    default -> text(HttpResponseStatus.NOT_FOUND, "try /metrics, /healthz, /readyz, /status\n");
                };
            }
            boolean keepAlive = HttpUtil.isKeepAlive(request);
            HttpUtil.setKeepAlive(response, keepAlive);
            if (keepAlive) {
                ctx.writeAndFlush(response);
            } else {
                ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
            }
        }

        private static FullHttpResponse text(HttpResponseStatus status, String body) {
            return respond(status, body, "text/plain; charset=utf-8");
        }

        private static FullHttpResponse respond(HttpResponseStatus status, String body, String contentType) {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                    Unpooled.wrappedBuffer(bytes));
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType)
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
            return response;
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
