package dev.fourtuple.gateway.inbound;

import dev.fourtuple.gateway.config.Limits;
import dev.fourtuple.gateway.connection.ClientAddress;
import dev.fourtuple.gateway.connection.ClientConnection;
import dev.fourtuple.gateway.connection.ConnectionRegistry;
import dev.fourtuple.gateway.connection.Departure;
import dev.fourtuple.gateway.connection.Quiesce;
import dev.fourtuple.gateway.config.Timeouts;
import dev.fourtuple.gateway.metrics.Problem;
import dev.fourtuple.gateway.route.Router;
import dev.fourtuple.gateway.tls.TlsClose;
import dev.fourtuple.gateway.timeout.TimerWheel;
import dev.fourtuple.gateway.tunnel.Tunnel;
import dev.fourtuple.gateway.tunnel.UpgradingSide;
import io.netty.channel.ChannelHandler;
import dev.fourtuple.gateway.upstream.UpstreamConnectionHandler;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import io.netty.util.AttributeKey;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection between requests and around them:
 * {@code [encoder: FrontendResponseEncoder] → [decoder: FrontendRequestDecoder] → [proxy: HttpProxyHandler]}.
 *
 * <p>Runs one {@link Exchange} at a time. The decoder hands over one request and then holds whatever the
 * client sent behind it, undecoded, until that request's exchange has ended; reading stops while it holds more
 * than a head's worth. Owns the connection's single {@link TimerWheel} entry: header-timeout from the first
 * byte of each request head (from the accept for the first one) until the head is complete, idle-timeout
 * between requests, and whatever the current exchange arms. On a WebSocket upgrade it hands the connection to
 * a {@link Tunnel} and leaves the pipeline together with the HTTP codec.
 */
final class HttpProxyHandler extends ChannelInboundHandlerAdapter implements TimerWheel.Owner, ClientConnection {
    private static final Logger log = LoggerFactory.getLogger(HttpProxyHandler.class);
    /** On a connection taken over from a predecessor: how long it had idled there (nanoseconds). */
    static final AttributeKey<Long> RESUMED_IDLE_FOR = AttributeKey.valueOf("fourtuple.resumed.idle.for");
    /** How long a closing connection keeps reading (and discarding) after its last response: RFC 9112 §9.6. */
    private static final long LINGER_NANOS = TimeUnit.SECONDS.toNanos(2);
    /** The time a closing connection has to take its last response when idle-timeout is off. */
    private static final long CLOSE_DEADLINE_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final Frontend frontend;
    private final FrontendRequestDecoder decoder;
    private final FrontendResponseEncoder encoder;
    private @Nullable ChannelHandlerContext ctx;
    private @Nullable TimerWheel wheel;
    private TimerWheel.@Nullable Entry timer;
    private ConnectionRegistry.@Nullable Registration registration;
    private @Nullable Exchange exchange;
    private boolean headPending;
    private boolean closeWhenDone;
    private boolean closing;
    private boolean lingering;
    private boolean closed;
    /**
     * The client sent its FIN: nothing more is read, the connection closes once the current exchange ends, and
     * a tunnel it was waiting for gets the FIN relayed once it runs.
     */
    private boolean inputEnded;
    /** The last exchange ended while the client was not reading: the next starts when it drains. */
    private boolean resumeWhenWritable;
    /** When the last exchange ended (the loop's clock): a move to a successor takes how long it has idled. */
    private long idleSince;
    /** On its way to a successor process: its deadlines are ignored. */
    private boolean departing;

    HttpProxyHandler(Frontend frontend, FrontendRequestDecoder decoder, FrontendResponseEncoder encoder) {
        this.frontend = frontend;
        this.decoder = decoder;
        this.encoder = encoder;
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
        registration = frontend.connections().get(ctx.channel().eventLoop()).add(this, settings().configVersion());
        Long idleFor = ctx.channel().hasAttr(RESUMED_IDLE_FOR) ? ctx.channel().attr(RESUMED_IDLE_FOR).getAndSet(null)
                : null;
        if (idleFor != null) {
            // Taken over idle from a predecessor process: its idle-timeout goes on where it was.
            idleSince = loopWheel.now() - idleFor;
            Duration idle = settings().timeouts().idle();
            if (!Timeouts.isOff(idle)) {
                loopWheel.schedule(timer, idleSince + idle.toNanos());
            }
        } else {
            headPending = true; // the first head is due from the accept on: a client that sends nothing gets 408
            loopWheel.scheduleAfter(timer, settings().timeouts().header().toNanos());
        }
        closeWhenDone = frontend.draining().getAsBoolean();
        ctx.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (closing) {
            ReferenceCountUtil.release(msg); // answered and closing: whatever else was decoded is moot
            return;
        }
        Exchange current = exchange;
        if (current != null && msg instanceof HttpContent content && current.expectsRequestContent()) {
            current.onRequestContent(content);
        } else if (current == null && msg instanceof HttpRequest request) {
            startExchange(request);
        } else {
            // The decoder hands over one request at a time, so this is the rest of a request whose exchange
            // already ended (an early response): the connection is closing.
            ReferenceCountUtil.release(msg);
        }
    }

    private void startExchange(HttpRequest request) {
        ChannelHandlerContext c = context();
        frontend.meters().request();
        headPending = false;
        disarm();
        encoder.respondingTo(request.method());
        DecoderResult result = request.decoderResult();
        if (result.isFailure()) {
            ReferenceCountUtil.release(request); // a failed head may be a full message (a bad request line)
            rejectMalformed(result.cause());
            return;
        }
        RequestRules.Refusal refusal = RequestRules.check(request);
        if (refusal != null) {
            respondAndClose(refusal.status(), refusal.problem(), refusal.reason() + " from "
                    + ClientAddress.of(c.channel()));
            return;
        }
        FrontendSettings settings = settings();
        if (registration != null) {
            registration.configVersion(settings.configVersion()); // the version whose routes pick its backend
        }
        boolean upgrade = WebSocketHandshake.isUpgrade(request);
        boolean keepAlive = HttpUtil.isKeepAlive(request) && !closeWhenDone;
        HttpVersion clientVersion = request.protocolVersion();
        String webSocketKey = upgrade ? request.headers().get(HttpHeaderNames.SEC_WEBSOCKET_KEY) : null;
        ProxyHeaders.prepareRequest(request, ClientAddress.of(c.channel()), ClientAddress.destination(c.channel()), upgrade,
                frontend.listener().tls());
        Router.Match match = settings.router().match(request.headers().get(HttpHeaderNames.HOST),
                ProxyHeaders.path(request.uri()), frontend.listener().name());
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
        Exchange next = new Exchange(this, c, frontend, settings, match, request, clientVersion, keepAlive,
                webSocketKey);
        exchange = next;
        next.start();
    }

    private void rejectMalformed(Throwable cause) {
        if (cause instanceof TooLongHttpLineException) {
            respondAndClose(HttpResponseStatus.REQUEST_URI_TOO_LONG, Problem.URI_TOO_LONG, cause.getMessage());
        } else if (cause instanceof TooLongHttpHeaderException) {
            respondAndClose(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, Problem.HEADERS_TOO_LARGE,
                    cause.getMessage());
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

    /**
     * Asks for the next read unless the exchange cannot take more now, or the decoder already holds a head's
     * worth of what the client sent ahead of its turn (then TCP's window holds the rest back).
     */
    void readIfWanted() {
        if (inputEnded) {
            return; // the client sent its FIN: nothing more to read
        }
        if (lingering && !closed) {
            context().read(); // read and discard until the client closes or the linger time is up
            return;
        }
        if (closed || closing) {
            return;
        }
        Limits limits = settings().limits();
        if (decoder.heldBytes() >= limits.maxHeaderSize() + limits.maxInitialLineLength()) {
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
        if (ctx.channel().isWritable()) {
            if (current != null) {
                current.onDownstreamWritable();
            } else if (resumeWhenWritable) {
                resumeWhenWritable = false;
                resumeNext();
            }
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == FrontendRequestDecoder.HEAD_STARTED) {
            if (exchange == null && !headPending) {
                // RFC 9112 §9.8 leaves the timeouts to the server: each head gets header-timeout from its
                // first byte, so a kept-alive connection cannot trickle one in under idle-timeout's reset.
                headPending = true;
                arm(now() + settings().timeouts().header().toNanos());
            }
            return;
        }
        if (evt instanceof ChannelInputShutdownEvent) {
            // The client sent its FIN. It may be gone, or half-closed and still reading (RFC 9293 §3.6): the
            // exchange decides what it owes it. Bytes it sent behind the current request are dropped undecoded
            // (the decoder releases them), so the backend parses exactly what is answered.
            inputEnded = true;
            Exchange current = exchange;
            if (lingering) {
                context().close(); // the client has its answer and closed: nothing to wait for
            } else if (current != null) {
                current.onClientFin();
            } else if (!closing) {
                closeAfterFlush(); // between requests: what was answered is written out first
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
        leaveRegistry();
        Exchange current = exchange;
        exchange = null;
        if (current != null) {
            current.onClientGone();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!(cause instanceof IOException) && !TlsClose.isPeerFailure(cause)) {
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
        if (departing) {
            return; // its deadlines go with it
        }
        if (closing) {
            // Lingering is over, or the last response could not be written out in time (a client that does
            // not read): it had its time, nothing more is owed it.
            ChannelHandlerContext c = context();
            if (c.channel().isActive()) {
                c.channel().config().setOption(ChannelOption.SO_LINGER, 0);
            }
            c.close();
            return;
        }
        Exchange current = exchange;
        if (current != null) {
            current.onDeadline(nowNanos);
        } else if (headPending) {
            respondAndClose(HttpResponseStatus.REQUEST_TIMEOUT, Problem.HEADER_TIMEOUT,
                    String.valueOf(ClientAddress.of(context().channel())));
        } else {
            abort(); // idle keep-alive connection: the normal end of a connection
        }
    }

    /**
     * Moves to a successor when idle between requests on a plaintext listener, with nothing held and nothing
     * unwritten: exactly the state a fresh connection has, plus how long it has idled.
     */
    @Override
    public boolean depart(Consumer<Departure> ready) {
        ChannelHandlerContext c = ctx;
        if (c == null || departing || exchange != null || headPending || closing || lingering || closed || inputEnded
                || closeWhenDone || resumeWhenWritable || decoder.heldBytes() > 0 || frontend.listener().tls()
                || frontend.listener().proxyProtocol()
                || !(c.pipeline().first() instanceof FrontendResponseEncoder) || !Quiesce.canMove(c.channel())) {
            return false;
        }
        departing = true;
        long idleFor = now() - idleSince;
        Quiesce.hold(List.of(c.channel()), held -> {
            if (held == null) {
                left();
                return;
            }
            IdleConnectionState state = new IdleConnectionState(frontend.listener().name(), idleFor, held.get(0));
            ready.accept(new Departure() {
                @Override
                public String kind() {
                    return IdleConnectionState.KIND;
                }

                @Override
                public List<Channel> channels() {
                    return List.of(c.channel());
                }

                @Override
                public Object state() {
                    return state;
                }

                @Override
                public void arrived() {
                    c.channel().eventLoop().execute(HttpProxyHandler.this::left);
                }

                @Override
                public void lost() {
                    arrived(); // either way it ends here; the client sees a close only if the successor lost it
                }
            });
        });
        return true;
    }

    /** No longer this process's connection: its socket closes here (the successor's copy, if any, lives on). */
    private void left() {
        closed = true;
        TimerWheel loopWheel = wheel;
        if (loopWheel != null && timer != null) {
            loopWheel.unregister(timer);
        }
        leaveRegistry();
        context().channel().close();
    }

    private void leaveRegistry() {
        ConnectionRegistry.Registration r = registration;
        if (r != null) {
            frontend.connections().get(context().channel().eventLoop()).remove(r);
            registration = null;
        }
    }

    /** True while this connection's exchange uses one of the given backends. */
    @Override
    public boolean uses(Set<InetSocketAddress> backends) {
        Exchange current = exchange;
        InetSocketAddress backend = current == null ? null : current.backendAddress();
        return backend != null && backends.contains(backend);
    }

    /** Its backend was removed by a reload and the grace is over: cut the exchange. Runs on the loop. */
    @Override
    public void cutForRemovedBackend() {
        Exchange current = exchange;
        if (current != null) {
            current.cancel("backend removed by a reload, reload-grace over");
        }
    }

    /**
     * Drain began: no new requests here; an idle connection closes now. One that still owes its client
     * something (a response being written out, a pipelined request read and held) finishes it first: the next
     * response says {@code Connection: close}. Runs on the loop.
     */
    @Override
    public void drain(long closeAtNanos, int closeCode) {
        closeWhenDone = true;
        if (exchange == null && !closed && !closing && !resumeWhenWritable && decoder.heldBytes() == 0) {
            closeAfterFlush();
        }
    }

    // ---- called by the current Exchange ----

    /** The exchange finished cleanly; the connection either waits for the next request or closes. */
    void exchangeDone(boolean keepOpen) {
        exchange = null;
        if (!keepOpen || closeWhenDone || inputEnded || frontend.draining().getAsBoolean()) {
            closeAfterFlush();
            return;
        }
        Duration idle = settings().timeouts().idle();
        idleSince = now();
        if (Timeouts.isOff(idle)) {
            disarm();
        } else {
            arm(idleSince + idle.toNanos());
        }
        resumeNext();
    }

    /**
     * Lets the next pipelined request in, once the client has taken what was written to it: a client that
     * pipelines and does not read must not make the gateway hold every response (backpressure across
     * requests, not only within one).
     */
    private void resumeNext() {
        if (!context().channel().isWritable()) {
            resumeWhenWritable = true;
            return;
        }
        if (decoder.heldBytes() > 0) {
            // Not re-entered from inside the upstream's read callback: the next exchange starts afresh.
            context().channel().eventLoop().execute(this::resumeDecoding);
        } else {
            decoder.resume();
            readIfWanted();
        }
    }

    private void resumeDecoding() {
        if (closed || closing) {
            return;
        }
        try {
            decoder.resume(); // may start the next exchange at once
        } catch (RuntimeException e) {
            exceptionCaught(context(), e); // run from a task, not the pipeline: route it as the pipeline would
            return;
        }
        readIfWanted();
    }

    /** Answers with a gateway error and closes; only while no response byte has been sent. */
    void respondAndClose(HttpResponseStatus status, Problem problem, String detail) {
        frontend.problems().report(problem, detail);
        exchange = null;
        closing = true;
        armCloseDeadline();
        context().writeAndFlush(ErrorResponses.of(status)).addListener((ChannelFutureListener) this::lingerThenClose);
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
     * The backend accepted the upgrade (its 101 has been written to the client): both connections become a
     * byte tunnel ({@link Tunnel#upgrade} says in which order; this side strips its own codec).
     */
    void switchToTunnel(UpstreamConnectionHandler upstream, Runnable onTunnelClose) {
        ChannelHandlerContext c = context();
        exchange = null;
        TimerWheel loopWheel = wheel;
        if (loopWheel == null || timer == null) {
            throw new IllegalStateException("upgrade before channelActive");
        }
        loopWheel.unregister(timer);
        timer = null;
        leaveRegistry(); // the tunnel registers itself
        Channel down = c.channel();
        ChannelPipeline downPipeline = down.pipeline();
        Duration idle = settings().timeouts().tunnelIdle();
        UpgradingSide client = new UpgradingSide() {
            @Override
            public Channel channel() {
                return down;
            }

            @Override
            public void removeEncoder() {
                downPipeline.remove(FrontendInitializer.ENCODER);
            }

            @Override
            public void becomeRelay(String name, ChannelHandler relay) {
                downPipeline.replace(HttpProxyHandler.this, name, relay);
                downPipeline.remove(FrontendInitializer.DECODER);
            }
        };
        Tunnel.upgrade(client, upstream, upstream.backend().address(), loopWheel,
                frontend.connections().get(down.eventLoop()), settings().configVersion(), idle.toNanos(),
                frontend.tunnelMeters(), onTunnelClose);
        if (inputEnded) {
            downPipeline.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE); // after the held bytes
        }
    }

    /**
     * A closing connection gets its last response written out within idle-timeout (or a minute when that is
     * off): a client that stops reading must not hold it, its fd and its buffers past that.
     */
    private void armCloseDeadline() {
        Duration idle = settings().timeouts().idle();
        arm(now() + (Timeouts.isOff(idle) ? CLOSE_DEADLINE_NANOS : idle.toNanos()));
    }

    /** Closes once everything written is flushed; lingers first if the client sent more than was read. */
    private void closeAfterFlush() {
        closing = true;
        armCloseDeadline();
        ChannelFutureListener then = decoder.holdsNothing() ? ChannelFutureListener.CLOSE : this::lingerThenClose;
        context().writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(then);
    }

    /**
     * The last response is written. RFC 9112 §9.6: a server that closes while the client may still be sending
     * (a pipelined request, the rest of a refused body) half-closes first and reads for a while; a close with
     * unread data would send a reset, on which the client's TCP may discard the response before it is read.
     * So: FIN, then read and discard until the client's FIN or {@link #LINGER_NANOS}. Used after every error
     * response (the rest of what the client sends is unknown) and after a clean last response only when the
     * client has sent more than was read.
     */
    private void lingerThenClose(ChannelFuture written) {
        Channel channel = written.channel();
        if (!written.isSuccess() || !channel.isActive() || !(channel instanceof DuplexChannel duplex)
                || duplex.isInputShutdown()) {
            channel.close(); // failed, gone, or the client has closed its side already: nothing to linger for
            return;
        }
        TlsClose.shutdownOutput(duplex).addListener(shut -> {
            if (!shut.isSuccess() || closed) {
                channel.close();
                return;
            }
            lingering = true;
            ChannelPipeline pipeline = channel.pipeline();
            if (pipeline.get(FrontendInitializer.DECODER) != null) {
                pipeline.remove(FrontendInitializer.DECODER); // what still arrives is discarded undecoded
            }
            arm(now() + LINGER_NANOS);
            context().read();
        });
    }

    private FrontendSettings settings() {
        return frontend.settings().get();
    }

    /** The client connection (a stop closes it and waits). */
    @Override
    public List<Channel> channels() {
        return List.of(context().channel());
    }

    private ChannelHandlerContext context() {
        ChannelHandlerContext c = ctx;
        if (c == null) {
            throw new IllegalStateException("not in a pipeline yet");
        }
        return c;
    }
}
