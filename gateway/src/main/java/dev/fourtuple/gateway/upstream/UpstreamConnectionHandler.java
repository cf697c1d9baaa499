package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.timeout.TimerWheel;
import dev.fourtuple.gateway.tunnel.Tunnel;
import dev.fourtuple.gateway.tunnel.UpgradingSide;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.util.ReferenceCountUtil;
import org.jspecify.annotations.Nullable;

/**
 * One connection to a backend, and the handler at the end of its pipeline:
 * {@code [tls: SslHandler, TLS clusters only] → [encoder: HttpRequestEncoder] → [decoder: UpstreamResponseDecoder]
 * → [upstream: UpstreamConnectionHandler]}. The SslHandler stays when the connection becomes a tunnel.
 *
 * <p>While attached it hands every response piece to its {@link UpstreamListener}; while pooled it keeps one
 * read outstanding only to notice the backend closing (anything else the backend sends then is a protocol
 * error and closes it), and its pool-idle deadline sits in the loop's {@link TimerWheel}. It goes back to the
 * pool only when its decoder says the last response ended exactly at its framed end
 * ({@link UpstreamResponseDecoder#clean()}), so no byte of one exchange can reach the next.
 *
 * <p>TIME_WAIT stays with whoever closes first, on the four-tuple, for a minute: upstream tuples are the
 * scarce ones, so the gateway avoids being first. A connection the backend said it will close
 * ({@code Connection: close}) is left for the backend to close. A connection the gateway must drop while
 * nothing is in flight on it (idle in the pool, or its exchange abandoned) is reset (SO_LINGER 0): nothing
 * is lost, and no TIME_WAIT is left behind.
 */
public final class UpstreamConnectionHandler extends ChannelInboundHandlerAdapter implements TimerWheel.Owner,
        UpgradingSide {
    static final String TLS = "tls";
    static final String ENCODER = "encoder";
    static final String DECODER = "decoder";
    static final String NAME = "upstream";

    private final UpstreamPool pool;
    private final Backend backend;
    private final UpstreamResponseDecoder decoder;
    private @Nullable ChannelHandlerContext ctx;
    private @Nullable UpstreamListener listener;
    private TimerWheel.@Nullable Entry idleEntry;
    private boolean reusable = true;
    private boolean backendCloses;
    private boolean reused;
    private boolean closing;

    UpstreamConnectionHandler(UpstreamPool pool, Backend backend, UpstreamResponseDecoder decoder) {
        this.pool = pool;
        this.backend = backend;
        this.decoder = decoder;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public Channel channel() {
        return context().channel();
    }

    public Backend backend() {
        return backend;
    }

    /** True when this connection served an earlier request (so it may have gone stale in the pool). */
    public boolean wasReused() {
        return reused;
    }

    /** Whether any byte of the response to the request written last has arrived. */
    public boolean responseStarted() {
        return decoder.responseStarted();
    }

    /** Open, not closing, and nothing of an earlier exchange left on it: fit to carry a new one. */
    boolean fitForReuse() {
        return !closing && context().channel().isActive() && decoder.clean();
    }

    /** Starts carrying an exchange. */
    public void attach(UpstreamListener newListener) {
        this.listener = newListener;
        if (idleEntry != null) {
            pool.wheel().disarm(idleEntry);
        }
    }

    /** Writes a request piece without flushing; failures surface as {@link UpstreamListener#onUpstreamClosed}. */
    public void write(HttpObject message) {
        if (message instanceof HttpRequest request) {
            decoder.expect(request.method());
        }
        ChannelHandlerContext c = context();
        c.write(message, c.voidPromise());
    }

    public void flush() {
        context().flush();
    }

    /** Asks for the next socket read (AUTO_READ is off). */
    public void read() {
        context().read();
    }

    public boolean isWritable() {
        return context().channel().isWritable();
    }

    /**
     * The exchange is over and the connection is clean (request and response both complete): back to the
     * pool, or closed when it may not be reused or the pool is full.
     */
    public void release() {
        listener = null;
        ChannelHandlerContext c = context();
        if (!c.channel().isActive()) {
            return;
        }
        if (!decoder.clean()) {
            abort(); // bytes past the response's framed end: they must reach no other exchange
            return;
        }
        if (reusable && pool.offer(this)) {
            reused = true;
        } else if (!backendCloses) {
            abort();
            return;
        }
        // Pooled, or waiting for the backend to close as it said it would: either way idle, with a read
        // posted to see the close, and a deadline after which we reset it ourselves.
        armIdleDeadline();
        c.read();
    }

    /** Detaches and resets: the exchange was abandoned, and what is in flight on it is wanted by nobody. */
    public void close() {
        listener = null;
        abort();
    }

    private void abort() {
        // A closing channel may stay active a little while (io_uring completes the close later): out of the
        // pool at once, and never handed out again.
        closing = true;
        pool.remove(this);
        ChannelHandlerContext c = context();
        if (c.channel().isActive()) {
            c.channel().config().setOption(ChannelOption.SO_LINGER, 0);
        }
        // A reset ends a TLS connection too, without a close_notify: the reset would discard it with the rest
        // of the send queue, and its write would hold the close back (with io_uring until the write completes,
        // so a loop that stops meanwhile would never free the engine). Removing the handler frees it now.
        ChannelPipeline pipeline = c.pipeline();
        if (pipeline.get(TLS) != null) {
            pipeline.remove(TLS);
        }
        c.close();
    }

    private void armIdleDeadline() {
        TimerWheel.Entry entry = idleEntry;
        if (entry == null) {
            entry = pool.wheel().register(this);
            idleEntry = entry;
        }
        pool.wheel().scheduleAfter(entry, pool.idleTimeoutNanos());
    }

    /** Turning into a tunnel (after the backend's 101, {@link Tunnel#upgrade}): nothing is HTTP-encoded now. */
    @Override
    public void removeEncoder() {
        context().pipeline().remove(ENCODER);
    }

    /**
     * Detaches for good, puts the tunnel's relay where this handler is, then removes the decoder, which hands
     * the relay whatever bytes it had buffered past the 101 (the backend's first frames).
     */
    @Override
    public void becomeRelay(String name, ChannelHandler relay) {
        listener = null;
        reusable = false;
        unregisterIdleEntry();
        ChannelPipeline pipeline = context().pipeline();
        pipeline.replace(this, name, relay);
        pipeline.remove(DECODER);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        UpstreamListener current = listener;
        if (current == null) {
            ReferenceCountUtil.release(msg);
            abort(); // a backend talking while pooled breaks HTTP/1.1 framing: never reuse it
            return;
        }
        if (msg instanceof HttpResponse response && response.status().code() >= 200 && !HttpUtil.isKeepAlive(response)) {
            reusable = false;
            backendCloses = true;
        }
        if (msg instanceof HttpObject httpObject) {
            if (httpObject.decoderResult().isFailure()) {
                reusable = false;
            }
            current.onResponse(httpObject);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        UpstreamListener current = listener;
        if (current != null) {
            current.onResponseReadComplete();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        UpstreamListener current = listener;
        if (current != null && ctx.channel().isWritable()) {
            current.onUpstreamWritable();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            // The backend closed its side. ALLOW_HALF_CLOSURE (needed by tunnels) keeps the channel open, but
            // an HTTP connection is done: the decoder has already delivered a close-delimited body's end.
            ctx.close();
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        pool.remove(this);
        unregisterIdleEntry();
        UpstreamListener current = listener;
        listener = null;
        if (current != null) {
            current.onUpstreamClosed(null);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        reusable = false;
        UpstreamListener current = listener;
        listener = null;
        ctx.close();
        if (current != null) {
            current.onUpstreamClosed(cause);
        }
    }

    @Override
    public void onDeadline(long nowNanos) {
        if (listener == null) {
            abort(); // idle in the pool for keepalive-idle-timeout, or a backend that said close and did not
        }
    }

    private void unregisterIdleEntry() {
        if (idleEntry != null) {
            pool.wheel().unregister(idleEntry);
            idleEntry = null;
        }
    }

    private ChannelHandlerContext context() {
        ChannelHandlerContext c = ctx;
        if (c == null) {
            throw new IllegalStateException("not in a pipeline yet");
        }
        return c;
    }
}
