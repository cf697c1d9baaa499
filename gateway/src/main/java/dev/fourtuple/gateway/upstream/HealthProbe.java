package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.HealthCheckSettings;
import dev.fourtuple.gateway.config.PortRange;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * One active check of one backend, start to verdict, on one event loop and never blocking it: a TCP connect
 * from the backend's first source IP (port 0: the kernel picks, with IP_BIND_ADDRESS_NO_PORT as the upstream
 * settings say), and for an HTTP check a {@code GET} over it (over TLS when the cluster has TLS) whose status
 * line is the verdict. The whole check, connect and TLS handshake included, must end within the timeout.
 *
 * <p>The connection is closed at the verdict with SO_LINGER 0, as HAProxy closes its checks: a reset leaves
 * no TIME_WAIT, so checks every second do not pile up source ports on the gateway's four-tuples.
 */
final class HealthProbe extends ChannelInboundHandlerAdapter {
    /** A check's verdict: passed or not, what it saw ("200 in 3 ms", "connect refused"), how long it took. */
    record Outcome(boolean passed, String text, long latencyNanos) {
    }

    /** How check sockets take their source port: the upstream settings' part that applies to checks. */
    record Sockets(TransportKind transport, boolean bindAddressNoPort, @Nullable PortRange localPortRange) {
    }

    /** An outcome's text may quote an exception's message, which may quote the backend's bytes: kept short. */
    private static final int MAX_OUTCOME = 160;

    private final Backend backend;
    private final HealthCheckSettings settings;
    private final Consumer<Outcome> done;
    private final long startNanos = System.nanoTime();
    private final StatusLine statusLine = new StatusLine();
    private @Nullable Channel channel;
    private @Nullable ScheduledFuture<?> timeout;
    private boolean finished;

    private HealthProbe(Backend backend, HealthCheckSettings settings, Consumer<Outcome> done) {
        this.backend = backend;
        this.settings = settings;
        this.done = done;
    }

    /**
     * Checks {@code backend} on {@code loop}; {@code done} hears the outcome once, on that loop. A backend whose
     * cluster's TLS context a reload has just replaced is not checked: {@code done} is not called (the next
     * check uses the new one) and false is returned.
     */
    static boolean run(EventLoop loop, Backend backend, HealthCheckSettings settings, Sockets sockets,
            Consumer<Outcome> done) {
        BackendTls tls = settings.http() ? backend.tls() : null;
        if (tls != null && !tls.retainForConnect()) {
            return false;
        }
        HealthProbe probe = new HealthProbe(backend, settings, done);
        probe.start(loop, tls, sockets);
        return true;
    }

    private void start(EventLoop loop, @Nullable BackendTls tls, Sockets sockets) {
        InetSocketAddress address = backend.address();
        long timeoutMillis = Math.max(1, settings.timeout().toMillis());
        Bootstrap bootstrap = new Bootstrap().group(loop)
                .channelFactory(sockets.transport().socketChannelFactory(address.getAddress()))
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) timeoutMillis)
                .option(ChannelOption.SO_LINGER, 0)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (tls != null) {
                            ch.pipeline().addLast(tls.newHandler(ch, address));
                        }
                        ch.pipeline().addLast(HealthProbe.this);
                    }
                });
        if (sockets.transport().isNative()) {
            UpstreamSocketOptions.apply(bootstrap, sockets.bindAddressNoPort(), sockets.localPortRange());
        }
        timeout = loop.schedule(() -> finish(false, "timed out after " + timeoutMillis + " ms"), timeoutMillis,
                TimeUnit.MILLISECONDS);
        InetAddress source = backend.tuples().isEmpty() ? null : backend.tuples().get(0).source();
        ChannelFuture connect = source == null ? bootstrap.connect(address)
                : bootstrap.connect(address, new InetSocketAddress(source, 0));
        channel = connect.channel();
        connect.addListener((ChannelFuture f) -> {
            if (tls != null) {
                tls.connectDone(); // the engine, if one was made, holds its own reference
            }
            if (!f.isSuccess()) {
                finish(false, describe(f.cause()));
            } else if (!settings.http()) {
                finish(true, "connected in " + millis() + " ms");
            }
        });
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (!settings.http()) {
            return;
        }
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        if (ssl == null) {
            sendRequest(ctx);
        } else {
            ssl.handshakeFuture().addListener(h -> {
                if (h.isSuccess()) {
                    sendRequest(ctx);
                } else {
                    finish(false, "TLS handshake failed: " + h.cause().getMessage());
                }
            });
        }
        ctx.fireChannelActive();
    }

    /** RFC 9112 §3: origin-form request line; Host per RFC 9110 §7.2 (an IPv6 literal in brackets). */
    private void sendRequest(ChannelHandlerContext ctx) {
        String host = settings.host().isEmpty() ? hostPort(backend.address()) : settings.host();
        String request = "GET " + settings.path() + " HTTP/1.1\r\nHost: " + host
                + "\r\nConnection: close\r\nUser-Agent: fourtuple-health\r\n\r\n";
        ctx.writeAndFlush(ByteBufUtil.writeAscii(ctx.alloc(), request));
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (finished || !(msg instanceof ByteBuf bytes)) {
                return;
            }
            int code = statusLine.feed(bytes);
            if (code == StatusLine.INVALID) {
                finish(false, "not an HTTP/1.1 status line");
            } else if (code != StatusLine.MORE) {
                boolean passed = code >= settings.expectLow() && code <= settings.expectHigh();
                finish(passed, code + " in " + millis() + " ms" + (passed ? "" : " (expected "
                        + settings.expectLow() + (settings.expectHigh() == settings.expectLow() ? "" : "-"
                        + settings.expectHigh()) + ")"));
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        finish(false, "closed before a status line");
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        finish(false, describe(cause));
    }

    private void finish(boolean passed, String text) {
        if (finished) {
            return;
        }
        finished = true;
        long latency = System.nanoTime() - startNanos;
        ScheduledFuture<?> timer = timeout;
        if (timer != null) {
            timer.cancel(false);
        }
        Channel ch = channel;
        if (ch != null) {
            ch.close();
        }
        done.accept(new Outcome(passed, text.length() <= MAX_OUTCOME ? text : text.substring(0, MAX_OUTCOME) + "...",
                latency));
    }

    private long millis() {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    private static String describe(Throwable cause) {
        if (cause instanceof ConnectTimeoutException) {
            return "connect timed out";
        }
        if (cause instanceof ConnectException) {
            return "connect refused";
        }
        String message = cause.getMessage();
        return cause.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }

    static String hostPort(InetSocketAddress address) {
        String ip = address.getAddress().getHostAddress();
        return (ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + address.getPort();
    }
}
