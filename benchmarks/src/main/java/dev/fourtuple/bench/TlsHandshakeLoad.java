package dev.fourtuple.bench;

import dev.fourtuple.gateway.transport.EventLoops;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.lang.reflect.Method;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLEngine;
import org.jspecify.annotations.Nullable;

/**
 * TLS handshakes back to back: {@code concurrency} connections in flight, each one TCP connect, one TLS
 * handshake, one {@code GET} answered, then the client's close_notify and close; as soon as one ends the next
 * starts, from the next source address, until the run is stopped.
 *
 * <p>Why the one GET: a TLS 1.3 server sends its session tickets after the handshake (RFC 8446 §4.6.1), so a
 * client that closed at the handshake's end would often have none to resume with; reading a response means the
 * tickets have arrived. It also makes every connection do the same work through every proxy. Its cost is a
 * keep-alive request's (see the https figures), small next to a full handshake.
 *
 * <p>Whether a connection resumed is read from the engine (BoringSSL's {@code SSL_session_reused}) and counted,
 * so a run shows how many of its handshakes really were resumed.
 */
public final class TlsHandshakeLoad implements AutoCloseable {
    private static final @Nullable Method SESSION_REUSED = sessionReusedMethod();

    private final EventLoops loops;
    private final Bootstrap bootstrap;

    public TlsHandshakeLoad(int threads) {
        this.loops = EventLoops.start(TransportKind.EPOLL, threads, "tls-client");
        this.bootstrap = new Bootstrap()
                .group(loops.group())
                .channelFactory(TransportKind.EPOLL.socketChannelFactory(SocketProtocolFamily.INET))
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000);
    }

    /**
     * Starts the loop: connections to {@code target} with SNI {@code host}, engines from {@code tls}, the GET
     * for {@code path}; returns at once. {@link Run#window()} reads and resets the counts, {@link Run#stop} ends it.
     */
    public Run start(InetSocketAddress target, String host, SslContext tls, String path, int concurrency,
            List<InetAddress> sources) {
        Run run = new Run(concurrency);
        for (int i = 0; i < concurrency; i++) {
            int lane = i;
            loops.group().next().execute(() -> connect(run, target, host, tls, path, sources, lane));
        }
        return run;
    }

    private void connect(Run run, InetSocketAddress target, String host, SslContext tls, String path,
            List<InetAddress> sources, int lane) {
        if (!run.running) {
            run.stopped.countDown();
            return;
        }
        // The next connection starts from a fresh task: a connect that fails at once must not recurse.
        Connection connection = new Connection(run, host, target.getPort(), path, () -> loops.group().next()
                .execute(() -> connect(run, target, host, tls, path, sources, lane + 1)));
        Bootstrap b = bootstrap.clone().handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                SslHandler ssl = tls.newHandler(ch.alloc(), host, target.getPort());
                ch.pipeline().addLast(ssl, new HttpClientCodec(), new HttpObjectAggregator(64 * 1024), connection);
            }
        });
        InetSocketAddress local = new InetSocketAddress(sources.get(lane % sources.size()), 0);
        b.connect(target, local).addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                connection.fail();
            }
        });
    }

    @Override
    public void close() {
        loops.shutdown(Duration.ofSeconds(5));
    }

    /** A running loop: counts since the last window; a clean stop. */
    public static final class Run {
        private final AtomicLong done = new AtomicLong();
        private final AtomicLong resumed = new AtomicLong();
        private final AtomicLong errors = new AtomicLong();
        private final CountDownLatch stopped;
        private volatile boolean running = true;

        Run(int concurrency) {
            this.stopped = new CountDownLatch(concurrency);
        }

        /** Connections finished (handshake and GET), resumed among them, and errors, since the last call. */
        public Counts window() {
            return new Counts(done.getAndSet(0), resumed.getAndSet(0), errors.getAndSet(0));
        }

        /** Lets each connection in flight finish, starts no new one. */
        public boolean stop(Duration timeout) throws InterruptedException {
            running = false;
            return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /**
     * @param handshakes connections that completed the handshake and the GET
     * @param resumed    those whose handshake resumed a session (a TLS 1.3 PSK from a ticket)
     * @param errors     connections that failed (connect, handshake, response, status)
     */
    public record Counts(long handshakes, long resumed, long errors) {
    }

    /** One connection: the GET once the handshake is done, the count once its answer is in, then the next. */
    private static final class Connection extends SimpleChannelInboundHandler<FullHttpResponse> {
        private final Run run;
        private final String host;
        private final int port;
        private final String path;
        private final Runnable next;
        private boolean reused;
        private boolean finished;

        Connection(Run run, String host, int port, String path, Runnable next) {
            this.run = run;
            this.host = host;
            this.port = port;
            this.path = path;
            this.next = next;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent handshake) {
                if (!handshake.isSuccess()) {
                    ctx.close();
                    return;
                }
                reused = reused(ctx.pipeline().get(SslHandler.class).engine());
                FullHttpRequest get = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path);
                get.headers().set(HttpHeaderNames.HOST, host + ":" + port);
                ctx.writeAndFlush(get);
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse response) {
            if (finished) {
                return;
            }
            finished = true;
            if (response.status().code() == 200) {
                run.done.incrementAndGet();
                if (reused) {
                    run.resumed.incrementAndGet();
                }
            } else {
                run.errors.incrementAndGet();
            }
            // SslHandler sends close_notify before the FIN.
            ctx.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (!finished) {
                finished = true;
                run.errors.incrementAndGet();
            }
            next.run();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }

        /** A connect that failed never became active: count it and go on. */
        void fail() {
            run.errors.incrementAndGet();
            next.run();
        }
    }

    private static boolean reused(SSLEngine engine) {
        if (SESSION_REUSED == null || !SESSION_REUSED.getDeclaringClass().isInstance(engine)) {
            return false;
        }
        try {
            return (Boolean) SESSION_REUSED.invoke(engine);
        } catch (ReflectiveOperationException e) {
            return false;
        }
    }

    /**
     * Netty's OpenSSL engine knows whether its session was resumed but keeps the method package-private
     * ({@code ReferenceCountedOpenSslEngine.isSessionReused}); the benchmark reads it reflectively (the class
     * path is not a module, so this is allowed), and counts nothing as resumed if it ever goes away.
     */
    private static @Nullable Method sessionReusedMethod() {
        try {
            // Not initialised here: its static block needs netty-tcnative loaded, which a plaintext run never does
            // (UnsatisfiedLinkError); an engine that exists has loaded it.
            Method m = Class.forName("io.netty.handler.ssl.ReferenceCountedOpenSslEngine", false,
                    TlsHandshakeLoad.class.getClassLoader()).getDeclaredMethod("isSessionReused");
            m.setAccessible(true);
            return m;
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return null;
        }
    }
}
