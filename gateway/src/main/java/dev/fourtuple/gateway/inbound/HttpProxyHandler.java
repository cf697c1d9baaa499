package dev.fourtuple.gateway.inbound;

import dev.fourtuple.gateway.config.Timeouts;
import dev.fourtuple.gateway.metrics.Problem;
import dev.fourtuple.gateway.route.Router;
import dev.fourtuple.gateway.timeout.TimerWheel;
import dev.fourtuple.gateway.tunnel.Tunnel;
import dev.fourtuple.gateway.tunnel.TunnelRelayHandler;
import dev.fourtuple.gateway.upstream.UpstreamConnectionHandler;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection between requests and around them:
 * {@code [codec: HttpServerCodec] → [proxy: HttpProxyHandler]}.
 *
 * <p>Runs one {@link Exchange} at a time. Requests a client pipelines behind the current one are held,
 * undecoded further, until it ends (reading stops while any are held). Owns the connection's single
 * {@link TimerWheel} entry: header timeout before the first request, idle timeout between requests, and
 * whatever the current exchange arms. On a WebSocket upgrade it hands the connection to a {@link Tunnel} and
 * leaves the pipeline together with the HTTP codec.
 */
final class HttpProxyHandler extends ChannelInboundHandlerAdapter implements TimerWheel.Owner {
    private static final Logger log = LoggerFactory.getLogger(HttpProxyHandler.class);

    private final Frontend frontend;
    private @Nullable ChannelHandlerContext ctx;
    private @Nullable TimerWheel wheel;
    private TimerWheel.@Nullable Entry timer;
    private @Nullable Exchange exchange;
    private @Nullable ArrayDeque<Object> pending;
    private boolean servedOne;
    private boolean closeWhenDone;
    private boolean closing;
    private boolean closed;

    HttpProxyHandler(Frontend frontend) {
        this.frontend = frontend;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        frontend.meters().opened(ctx.channel());
        TimerWheel loopWheel = frontend.wheels().get(ctx.channel().eventLoop());
        wheel = loopWheel;
        timer = loopWheel.register(this);
        loopWheel.scheduleAfter(timer, settings().timeouts().header().toNanos());
        closeWhenDone = frontend.draining().getAsBoolean();
        ctx.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ArrayDeque<Object> queued = pending;
        if (queued != null && !queued.isEmpty()) {
            queued.addLast(msg);
            return;
        }
        dispatch(msg);
    }

    private void dispatch(Object msg) {
        if (closing) {
            ReferenceCountUtil.release(msg); // answered and closing: whatever else was decoded is moot
            return;
        }
        Exchange current = exchange;
        if (current != null) {
            if (msg instanceof HttpContent content && current.expectsRequestContent()) {
                current.onRequestContent(content);
            } else {
                hold(msg);
            }
            return;
        }
        if (msg instanceof HttpRequest request) {
            startExchange(request);
        } else {
            ReferenceCountUtil.release(msg); // the rest of a request already answered and being closed
        }
    }

    private void hold(Object msg) {
        ArrayDeque<Object> queued = pending;
        if (queued == null) {
            queued = new ArrayDeque<>(4);
            pending = queued;
        }
        queued.addLast(msg);
    }

    private void startExchange(HttpRequest request) {
        ChannelHandlerContext c = context();
        frontend.meters().request();
        disarm();
        DecoderResult result = request.decoderResult();
        if (result.isFailure()) {
            ReferenceCountUtil.release(request); // the decoder hands a failed head over as a full message
            rejectMalformed(result.cause());
            return;
        }
        FrontendSettings settings = settings();
        boolean upgrade = ProxyHeaders.isWebSocketUpgrade(request);
        boolean keepAlive = HttpUtil.isKeepAlive(request) && !closeWhenDone;
        io.netty.handler.codec.http.HttpVersion clientVersion = request.protocolVersion();
        ProxyHeaders.prepareRequest(request, c.channel().remoteAddress(), upgrade);
        Router.Match match = settings.router().match(request.headers().get(HttpHeaderNames.HOST),
                ProxyHeaders.path(request.uri()));
        if (match == null) {
            respondAndClose(HttpResponseStatus.NOT_FOUND, Problem.NO_ROUTE,
                    request.headers().get(HttpHeaderNames.HOST) + " " + request.uri());
            return;
        }
        long declared = HttpUtil.getContentLength(request, -1L);
        if (declared > settings.limits().maxRequestBodySize()) {
            respondAndClose(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, Problem.BODY_TOO_LARGE,
                    "Content-Length " + declared);
            return;
        }
        Exchange next = new Exchange(this, c, frontend, settings, match, request, clientVersion, keepAlive, upgrade);
        exchange = next;
        next.start();
    }

    private void rejectMalformed(Throwable cause) {
        if (cause instanceof TooLongHttpLineException) {
            respondAndClose(HttpResponseStatus.REQUEST_URI_TOO_LONG, Problem.URI_TOO_LONG, cause.getMessage());
        } else if (cause instanceof TooLongHttpHeaderException) {
            respondAndClose(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, Problem.HEADERS_TOO_LARGE,
                    cause.getMessage());
        } else if (cause instanceof TooLongFrameException) {
            respondAndClose(HttpResponseStatus.BAD_REQUEST, Problem.BAD_REQUEST, cause.getMessage());
        } else {
            respondAndClose(HttpResponseStatus.BAD_REQUEST, Problem.BAD_REQUEST, String.valueOf(cause.getMessage()));
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        Exchange current = exchange;
        if (current != null) {
            current.onRequestReadComplete();
        }
        readIfWanted();
    }

    /** Asks for the next read unless held requests wait or the exchange cannot take more now. */
    void readIfWanted() {
        if (closed || closing) {
            return;
        }
        ArrayDeque<Object> queued = pending;
        if (queued != null && !queued.isEmpty()) {
            return;
        }
        Exchange current = exchange;
        if (current == null || current.wantsRequestBytes()) {
            context().read();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        Exchange current = exchange;
        if (current != null && ctx.channel().isWritable()) {
            current.onDownstreamWritable();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            // The client closed its side. Nearly always it has gone (a long-poll it gave up on), rarely it
            // half-closed and still reads; like nginx's default we take it as gone and free the backend.
            Exchange current = exchange;
            if (current != null) {
                current.onClientGone();
            } else {
                abort();
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closed = true;
        TimerWheel loopWheel = wheel;
        if (loopWheel != null && timer != null) {
            loopWheel.unregister(timer);
        }
        Exchange current = exchange;
        exchange = null;
        if (current != null) {
            current.onClientGone();
        }
        releasePending();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!(cause instanceof IOException)) {
            frontend.problems().report(Problem.INTERNAL, ctx.channel() + ": " + cause);
            log.debug("unexpected error on {}", ctx.channel(), cause);
        }
        Exchange current = exchange;
        if (current != null) {
            current.onClientGone(); // reports the reset, drops the upstream side, then aborts this side
        } else {
            abort();
        }
    }

    @Override
    public void onDeadline(long nowNanos) {
        Exchange current = exchange;
        if (current != null) {
            current.onDeadline(nowNanos);
        } else if (!servedOne) {
            respondAndClose(HttpResponseStatus.REQUEST_TIMEOUT, Problem.HEADER_TIMEOUT,
                    String.valueOf(context().channel().remoteAddress()));
        } else {
            abort(); // idle keep-alive connection: the normal end of a connection
        }
    }

    /** True while this connection's exchange uses one of the given backends. */
    boolean uses(Set<InetSocketAddress> backends) {
        Exchange current = exchange;
        InetSocketAddress backend = current == null ? null : current.backendAddress();
        return backend != null && backends.contains(backend);
    }

    /** Its backend was removed by a reload and the grace is over: cut the exchange. Runs on the loop. */
    void cutForRemovedBackend() {
        Exchange current = exchange;
        if (current != null) {
            current.cancel("backend removed by a reload, reload-grace over");
        }
    }

    /** Drain began: no new requests here; an idle connection closes now. Runs on the loop. */
    void drain() {
        closeWhenDone = true;
        if (exchange == null && !closed) {
            abort();
        }
    }

    // ---- called by the current Exchange ----

    /** The exchange finished cleanly; the connection either waits for the next request or closes. */
    void exchangeDone(boolean keepOpen) {
        exchange = null;
        servedOne = true;
        if (!keepOpen || closeWhenDone || frontend.draining().getAsBoolean()) {
            closeAfterFlush();
            return;
        }
        Duration idle = settings().timeouts().idle();
        if (Timeouts.isOff(idle)) {
            disarm();
        } else {
            arm(now() + idle.toNanos());
        }
        ArrayDeque<Object> queued = pending;
        if (queued != null && !queued.isEmpty()) {
            // Not re-entered from inside the upstream's read callback: the next exchange starts afresh.
            context().channel().eventLoop().execute(this::resumeHeld);
        } else {
            readIfWanted();
        }
    }

    private void resumeHeld() {
        ArrayDeque<Object> queued = pending;
        Object msg;
        while (!closed && queued != null && (msg = queued.peekFirst()) != null) {
            Exchange current = exchange;
            if (current != null && !(msg instanceof HttpContent && current.expectsRequestContent())) {
                return; // the rest waits for this exchange to end
            }
            queued.pollFirst();
            dispatch(msg);
        }
        readIfWanted();
    }

    /** Answers with a gateway error and closes; only while no response byte has been sent. */
    void respondAndClose(HttpResponseStatus status, Problem problem, String detail) {
        frontend.problems().report(problem, detail);
        exchange = null;
        closing = true;
        disarm();
        context().writeAndFlush(ErrorResponses.of(status)).addListener(ChannelFutureListener.CLOSE);
    }

    /**
     * Closes at once, dropping whatever else was decoded. Used when a response was cut short (the client must
     * not take it for complete) and when there is nothing in flight to finish.
     */
    void abort() {
        exchange = null;
        closing = true;
        context().close();
    }

    /** The connection's clock: its loop's ticker, the scale of every deadline. */
    long now() {
        TimerWheel loopWheel = wheel;
        return loopWheel != null ? loopWheel.now() : System.nanoTime();
    }

    void arm(long deadlineNanos) {
        TimerWheel loopWheel = wheel;
        if (loopWheel != null && timer != null) {
            loopWheel.schedule(timer, deadlineNanos);
        }
    }

    void disarm() {
        TimerWheel loopWheel = wheel;
        if (loopWheel != null && timer != null) {
            loopWheel.disarm(timer);
        }
    }

    /**
     * The backend accepted the upgrade (its 101 has been written to the client): turn both connections into
     * a byte tunnel. Order matters: encoders go first (so nothing more is HTTP-encoded), then the relays take
     * the handlers' places, then the decoders go, handing any bytes they had buffered to the relays.
     */
    void switchToTunnel(UpstreamConnectionHandler upstream, Runnable onTunnelClose) {
        ChannelHandlerContext c = context();
        exchange = null;
        ArrayDeque<Object> queued = pending;
        if (queued != null && !queued.isEmpty()) {
            // The client sent more HTTP after its upgrade request: it cannot also be speaking WebSocket.
            frontend.problems().report(Problem.BAD_REQUEST, "data pipelined after an upgrade request");
            onTunnelClose.run();
            upstream.close();
            c.close();
            return;
        }
        TimerWheel loopWheel = wheel;
        if (loopWheel == null || timer == null) {
            throw new IllegalStateException("upgrade before channelActive");
        }
        loopWheel.unregister(timer);
        timer = null;
        Channel down = c.channel();
        Channel up = upstream.channel();
        upstream.detachForTunnel();
        ChannelPipeline downPipeline = down.pipeline();
        ChannelPipeline upPipeline = up.pipeline();
        ((HttpServerCodec) downPipeline.get(FrontendInitializer.CODEC)).removeOutboundHandler();
        ((HttpClientCodec) upPipeline.get(UpstreamConnectionHandler.CODEC)).removeOutboundHandler();
        Duration idle = settings().timeouts().tunnelIdle();
        Tunnel tunnel = Tunnel.create(down, up, upstream.backend().address(), loopWheel, idle.toNanos(),
                frontend.tunnelMeters(), onTunnelClose);
        upPipeline.replace(UpstreamConnectionHandler.NAME, TunnelRelayHandler.NAME, tunnel.upstreamRelay());
        downPipeline.replace(this, TunnelRelayHandler.NAME, tunnel.downstreamRelay());
        upPipeline.remove(UpstreamConnectionHandler.CODEC);
        downPipeline.remove(FrontendInitializer.CODEC);
        tunnel.start();
    }

    private void closeAfterFlush() {
        closing = true;
        disarm();
        context().writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    private void releasePending() {
        ArrayDeque<Object> queued = pending;
        if (queued != null) {
            Object msg;
            while ((msg = queued.pollFirst()) != null) {
                ReferenceCountUtil.release(msg);
            }
        }
    }

    private FrontendSettings settings() {
        return frontend.settings().get();
    }

    private ChannelHandlerContext context() {
        ChannelHandlerContext c = ctx;
        if (c == null) {
            throw new IllegalStateException("not in a pipeline yet");
        }
        return c;
    }
}
