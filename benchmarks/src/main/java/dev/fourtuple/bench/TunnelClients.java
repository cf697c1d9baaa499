package dev.fourtuple.bench;

import dev.fourtuple.gateway.transport.EventLoops;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.bootstrap.Bootstrap;
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
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshakeException;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshakerFactory;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import io.netty.handler.ssl.SslContext;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Opens many WebSocket tunnels from one process with Netty (a few bytes of state each, no thread each) and
 * tells, per tunnel, whether the handshake was accepted (101), refused with an HTTP status, or failed.
 *
 * <p>A {@code wss://} URI runs TLS from the client to the proxy: the pipeline starts with the client
 * {@link SslContext} given at construction's {@link io.netty.handler.ssl.SslHandler} (SNI and hostname check
 * against the URI's host), and the upgrade request goes out once the TLS handshake is done.
 */
public final class TunnelClients implements AutoCloseable {

    /** How a handshake ended. */
    public enum Status { OPEN, REFUSED, ERROR }

    /**
     * @param status     the outcome
     * @param httpStatus the status of a refusal (0 otherwise)
     * @param channel    the open tunnel's channel (OPEN only)
     * @param detail     what went wrong (ERROR only)
     */
    public record Outcome(Status status, int httpStatus, @Nullable Channel channel, String detail) {
    }

    private final EventLoops loops;
    private final Bootstrap bootstrap;
    private final @Nullable SslContext tls;

    public TunnelClients(TransportKind transport, int threads) {
        this(transport, threads, null);
    }

    /** @param tls the client context for {@code wss://} URIs (null: plaintext {@code ws://} only) */
    public TunnelClients(TransportKind transport, int threads, @Nullable SslContext tls) {
        this.tls = tls;
        this.loops = EventLoops.start(transport, threads, "tunnel-client");
        this.bootstrap = new Bootstrap()
                .group(loops.group())
                .channelFactory(transport.socketChannelFactory(SocketProtocolFamily.INET))
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000);
    }

    /**
     * Opens one tunnel to {@code uri} via {@code gateway}, from {@code local} when given (an explicit port keeps
     * the client side out of the ephemeral range under test). Completes within {@code timeout}.
     */
    public CompletableFuture<Outcome> open(InetSocketAddress gateway, URI uri, @Nullable InetSocketAddress local,
            Duration timeout) {
        CompletableFuture<Outcome> outcome = new CompletableFuture<>();
        WebSocketClientHandshaker handshaker = WebSocketClientHandshakerFactory.newHandshaker(
                uri, WebSocketVersion.V13, null, false, new DefaultHttpHeaders());
        ClientHandler handler = new ClientHandler(handshaker, outcome);
        SslContext ssl = secure(uri);
        Bootstrap b = bootstrap.clone().handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                if (ssl != null) {
                    ch.pipeline().addLast(ssl.newHandler(ch.alloc(), uri.getHost(), uri.getPort()));
                }
                ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(64 * 1024), handler);
            }
        });
        ChannelFuture connect = local == null ? b.connect(gateway) : b.connect(gateway, local);
        connect.addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                outcome.complete(new Outcome(Status.ERROR, 0, null, "connect: " + f.cause()));
            } else {
                ScheduledFuture<?> hang = f.channel().eventLoop().schedule(() -> {
                    if (outcome.complete(new Outcome(Status.ERROR, 0, null, "handshake timed out (hang)"))) {
                        f.channel().close();
                    }
                }, timeout.toMillis(), TimeUnit.MILLISECONDS);
                outcome.whenComplete((done, failure) -> hang.cancel(false));
            }
        });
        return outcome;
    }

    private @Nullable SslContext secure(URI uri) {
        if (!"wss".equalsIgnoreCase(uri.getScheme())) {
            return null;
        }
        if (tls == null) {
            throw new IllegalArgumentException(uri + ": a wss URI needs a client SslContext (none given)");
        }
        return tls;
    }

    /**
     * Hands an open tunnel over to the caller's own handler: takes this class's handler out of its pipeline,
     * so frames go on to whatever the caller adds (and {@link #echo} no longer works on it).
     */
    public static Channel handOver(Channel tunnel) {
        tunnel.pipeline().remove(ClientHandler.class);
        return tunnel;
    }

    /** Sends a text frame on an open tunnel; completes with true when the same text comes back. */
    public static CompletableFuture<Boolean> echo(Channel channel, String text, Duration timeout) {
        ClientHandler handler = channel.pipeline().get(ClientHandler.class);
        CompletableFuture<Boolean> echoed = new CompletableFuture<>();
        channel.eventLoop().execute(() -> {
            handler.expect(text, echoed);
            channel.writeAndFlush(new TextWebSocketFrame(text));
        });
        ScheduledFuture<?> late = channel.eventLoop().schedule(() -> echoed.complete(false), timeout.toMillis(),
                TimeUnit.MILLISECONDS);
        echoed.whenComplete((done, failure) -> late.cancel(false)); // a connect load must not pile up timers
        return echoed;
    }

    /**
     * Runs {@code task} on one of the client event loops: a load that starts its next connection from the end of
     * the last must not recurse when connects fail at once (say, with no free source port).
     */
    public void execute(Runnable task) {
        loops.group().next().execute(task);
    }

    @Override
    public void close() {
        loops.shutdown(Duration.ofSeconds(5));
    }

    /** Per tunnel: runs the handshake, then matches echoed text frames. */
    private static final class ClientHandler extends SimpleChannelInboundHandler<Object> {
        private final WebSocketClientHandshaker handshaker;
        private final CompletableFuture<Outcome> outcome;
        private @Nullable String expected;
        private @Nullable CompletableFuture<Boolean> echoed;

        ClientHandler(WebSocketClientHandshaker handshaker, CompletableFuture<Outcome> outcome) {
            this.handshaker = handshaker;
            this.outcome = outcome;
        }

        void expect(String text, CompletableFuture<Boolean> future) {
            this.expected = text;
            this.echoed = future;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            handshaker.handshake(ctx.channel());
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Object msg) {
            if (!handshaker.isHandshakeComplete() && msg instanceof FullHttpResponse response) {
                try {
                    handshaker.finishHandshake(ctx.channel(), response);
                    outcome.complete(new Outcome(Status.OPEN, 101, ctx.channel(), ""));
                } catch (WebSocketClientHandshakeException e) {
                    int code = e.response() == null ? 0 : e.response().status().code();
                    outcome.complete(new Outcome(code > 0 ? Status.REFUSED : Status.ERROR, code, null,
                            String.valueOf(e.getMessage())));
                    ctx.close();
                }
                return;
            }
            if (msg instanceof TextWebSocketFrame text && echoed != null) {
                echoed.complete(text.text().equals(expected));
            } else if (msg instanceof WebSocketFrame) {
                return; // pongs, closes: nothing to check
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            outcome.complete(new Outcome(Status.ERROR, 0, null, "closed before the handshake ended"));
            if (echoed != null) {
                echoed.complete(false);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            outcome.complete(new Outcome(Status.ERROR, 0, null, cause.toString()));
            ctx.close();
        }
    }
}
