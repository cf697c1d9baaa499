package dev.fourtuple.gateway.inbound;

import dev.fourtuple.gateway.connection.ClientAddress;
import dev.fourtuple.gateway.config.Timeouts;
import dev.fourtuple.gateway.metrics.Problem;
import dev.fourtuple.gateway.route.Router;
import dev.fourtuple.gateway.upstream.Acquirer;
import dev.fourtuple.gateway.upstream.Acquisition;
import dev.fourtuple.gateway.upstream.Backend;
import dev.fourtuple.gateway.upstream.UpstreamConnectionHandler;
import dev.fourtuple.gateway.upstream.UpstreamListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * One request and its response, relayed between the client connection and one upstream connection.
 *
 * <p>Bodies stream both ways piece by piece with backpressure: a piece is written to the other side, flushed
 * when the read that produced it completes, and the next read is asked for only while the other side is
 * writable (else when it turns writable). Nothing is aggregated.
 *
 * <p>Timers (all on the connection's one wheel entry, owned by {@link HttpProxyHandler}): while the request
 * body uploads and while the response body streams, an inactivity timeout; while the request body uploads,
 * also body-timeout stretched by body-min-rate (a body that trickles ends with 408); between the end of the
 * request and the response head, the request timeout.
 *
 * <p>Which backend, and a connection to it, comes from the cluster's {@link Acquisition} (which also moves a
 * request whose connect failed to another backend). Once written, a request is re-sent only when its method
 * is idempotent, it has no body, no byte of a response arrived, and the connection was a pooled one the
 * backend closed just then (RFC 9110 §9.2.2). POST and PATCH never are.
 *
 * <p>A body received from the client is never silently dropped: it is forwarded in full, or the client gets
 * an error status, or (once a response has started) the connection is closed so the client sees a failure.
 */
final class Exchange implements UpstreamListener, Acquirer {
    /** 1xx responses relayed per request at most; a backend sending more is broken or hostile (502). */
    private static final int MAX_INTERIM = 16;

    private enum Phase { AWAITING_HEAD, INTERIM, SWITCHING, STREAMING, DONE }

    private final HttpProxyHandler owner;
    private final ChannelHandlerContext down;
    private final Frontend frontend;
    private final Router.Match match;
    private final HttpRequest request;
    private final HttpVersion clientVersion;
    private final boolean clientKeepAlive;
    private final @Nullable String webSocketKey;
    private final boolean upgrade;
    private final boolean bodyless;
    private final boolean replayable;
    private final long maxBody;
    private final long requestTimeoutNanos;
    private final long inactivityNanos;
    private final BodyClock bodyClock;

    private Phase phase = Phase.AWAITING_HEAD;
    private @Nullable Acquisition acquisition;
    private @Nullable UpstreamConnectionHandler upstream;
    private @Nullable ArrayDeque<HttpContent> early;
    private boolean requestComplete;
    private boolean closeAfterResponse;
    private boolean replayed;
    private boolean reuseForbidden;
    private int interim;
    private long bodyBytes;
    private long lastActivity;

    Exchange(HttpProxyHandler owner, ChannelHandlerContext down, Frontend frontend, FrontendSettings settings,
            Router.Match match, HttpRequest request, HttpVersion clientVersion, boolean clientKeepAlive,
            @Nullable String webSocketKey) {
        this.owner = owner;
        this.down = down;
        this.frontend = frontend;
        this.match = match;
        this.request = request;
        this.clientVersion = clientVersion;
        this.clientKeepAlive = clientKeepAlive;
        this.webSocketKey = webSocketKey;
        this.upgrade = webSocketKey != null;
        this.bodyless = HttpUtil.getContentLength(request, 0L) == 0L && !HttpUtil.isTransferEncodingChunked(request);
        // RFC 9110 §9.2.2: idempotent methods; with no body, the request can be sent again as it was
        this.replayable = bodyless && IDEMPOTENT.contains(request.method());
        this.maxBody = settings.limits().maxRequestBodySize();
        Timeouts timeouts = settings.timeouts();
        this.requestTimeoutNanos = match.route().effectiveRequestTimeout(timeouts).toNanos();
        Duration inactivity = match.route().longPoll() ? timeouts.tunnelIdle() : timeouts.idle();
        this.inactivityNanos = inactivity.toNanos();
        this.bodyClock = new BodyClock(timeouts.body().toNanos(), settings.limits().bodyMinRate());
    }

    private static final Set<HttpMethod> IDEMPOTENT = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.OPTIONS,
            HttpMethod.TRACE, HttpMethod.PUT, HttpMethod.DELETE);

    void start() {
        lastActivity = owner.now();
        armInactivity();
        Acquisition started = frontend.clusterClient().acquire(match.cluster(), down.channel(), request, this);
        acquisition = started;
        if (phase == Phase.DONE) {
            started.finished(); // ended while acquire() ran: nothing else will give its backend back
        }
    }

    // ---- the upstream connection ----

    @Override
    public void onAcquired(UpstreamConnectionHandler connection) {
        if (phase == Phase.DONE) {
            connection.release(); // the client left while we connected; the connection is clean
            return;
        }
        upstream = connection;
        connection.attach(this);
        connection.write(request);
        ArrayDeque<HttpContent> queued = early;
        early = null;
        if (queued != null) {
            HttpContent piece;
            while ((piece = queued.pollFirst()) != null) {
                connection.write(piece);
            }
        } else if (replayed && requestComplete) {
            connection.write(LastHttpContent.EMPTY_LAST_CONTENT);
        }
        connection.flush();
        if (!requestComplete && !bodyless && bodyClock.enabled() && !bodyClock.running()) {
            bodyClock.start(owner.now(), bodyBytes); // the body can flow from now on
            armInactivity();
        }
        connection.read();
        owner.readIfWanted();
    }

    @Override
    public void onUnavailable(HttpResponseStatus status, Problem problem, String detail) {
        if (phase != Phase.DONE) {
            fail(status, problem, detail + " for " + request.method() + " " + request.uri());
        }
    }

    @Override
    public void onResponse(HttpObject message) {
        if (phase == Phase.DONE) {
            ReferenceCountUtil.release(message);
            return;
        }
        lastActivity = owner.now();
        if (message.decoderResult().isFailure()) {
            ReferenceCountUtil.release(message);
            badResponse(String.valueOf(message.decoderResult().cause()));
            return;
        }
        if (message instanceof HttpResponse response) {
            onResponseHead(response);
        }
        if (message instanceof HttpContent content) {
            onResponseContent(content);
        }
    }

    private void onResponseHead(HttpResponse response) {
        int code = response.status().code();
        String framing = ProxyHeaders.badFraming(response);
        if (framing != null) {
            ReferenceCountUtil.release(response);
            badResponse(backend() + ": " + framing);
            return;
        }
        if (code == HttpResponseStatus.SWITCHING_PROTOCOLS.code()) {
            String key = webSocketKey;
            String wrong = key == null || phase != Phase.AWAITING_HEAD ? "101 to a request that did not ask to upgrade"
                    : WebSocketHandshake.checkSwitch(response, key);
            if (wrong != null) {
                // RFC 6455 §4.1: the client would fail this handshake; the gateway refuses it for the client,
                // before any byte of it is relayed, so nothing past it is taken for WebSocket frames.
                ReferenceCountUtil.release(response);
                badResponse(backend() + ": " + wrong);
                return;
            }
            phase = Phase.SWITCHING;
            responded(response);
            owner.disarm();
            down.write(response, down.voidPromise()); // kept as is: Upgrade, Connection, Sec-WebSocket-Accept
            return;
        }
        if (code < 200) {
            if (++interim > MAX_INTERIM) {
                ReferenceCountUtil.release(response);
                badResponse(backend() + ": more than " + MAX_INTERIM + " 1xx responses");
                return;
            }
            phase = Phase.INTERIM; // 100 Continue, 103 Early Hints: passed on, the final response follows
            if (!clientVersion.equals(HttpVersion.HTTP_1_0)) { // RFC 9110 §15.2: no 1xx to an HTTP/1.0 client
                ProxyHeaders.prepareInterim(response);
                down.write(response, down.voidPromise());
            } else {
                ReferenceCountUtil.release(response);
            }
            return;
        }
        phase = Phase.STREAMING;
        responded(response);
        stopBodyClockIfDone();
        reuseForbidden = ProxyHeaders.namesFraming(response.headers());
        boolean bodylessResponse = request.method().equals(HttpMethod.HEAD) || code == 204 || code == 304;
        boolean keepAlive = clientKeepAlive && requestComplete && !frontend.draining().getAsBoolean();
        closeAfterResponse = ProxyHeaders.prepareResponse(response, clientVersion, keepAlive, bodylessResponse);
        armInactivity();
        down.write(response, down.voidPromise());
    }

    /** The final response head: the cluster learns how its backend did (and may add its sticky cookie). */
    private void responded(HttpResponse response) {
        Acquisition held = acquisition;
        if (held != null) {
            held.responded(response);
        }
    }

    /** The backend failed this request before any final response: counts against its health. */
    private void backendFailedRequest() {
        Acquisition held = acquisition;
        if (held != null && (phase == Phase.AWAITING_HEAD || phase == Phase.INTERIM)) {
            held.failed();
        }
    }

    /** What the backend sent was unusable: counts against its health, then as any backend failure. */
    private void badResponse(String detail) {
        backendFailedRequest();
        backendFailed(Problem.BAD_RESPONSE, detail);
    }

    private @Nullable Backend backend() {
        Acquisition held = acquisition;
        return held == null ? null : held.backend();
    }

    private void onResponseContent(HttpContent content) {
        boolean last = content instanceof LastHttpContent;
        switch (phase) {
            case INTERIM -> {
                if (last) {
                    phase = Phase.AWAITING_HEAD;
                }
                if (clientVersion.equals(HttpVersion.HTTP_1_0)) {
                    content.release();
                } else {
                    down.write(content, down.voidPromise());
                }
            }
            case SWITCHING -> {
                content.release();
                if (last) {
                    becomeTunnel();
                }
            }
            case STREAMING -> {
                if (last) {
                    ProxyHeaders.removeForbiddenTrailers(((LastHttpContent) content).trailingHeaders());
                }
                down.write(content, down.voidPromise());
                if (last) {
                    responseComplete();
                }
            }
            default -> content.release();
        }
    }

    @Override
    public void onResponseReadComplete() {
        if (phase == Phase.DONE) {
            return;
        }
        down.flush();
        UpstreamConnectionHandler connection = upstream;
        if (connection != null && down.channel().isWritable()) {
            connection.read();
        }
    }

    @Override
    public void onUpstreamWritable() {
        owner.readIfWanted();
    }

    @Override
    public void onUpstreamClosed(@Nullable Throwable cause) {
        if (phase == Phase.DONE) {
            return;
        }
        UpstreamConnectionHandler connection = upstream;
        upstream = null;
        Backend target = backend();
        Acquisition held = acquisition;
        if (phase == Phase.AWAITING_HEAD && interim == 0 && connection != null && connection.wasReused()
                && !connection.responseStarted() && replayable && !replayed && target != null && held != null) {
            // RFC 9110 §9.2.2 / RFC 9112 §9.3.1: a pooled connection the backend closed just as it was reused,
            // before any byte of a response. The request is idempotent and has no body to lose: sent once more,
            // on a fresh connection. Any other request gets the 502 below.
            replayed = true;
            held.reconnect();
            return;
        }
        if (connection == null || !connection.wasReused() || connection.responseStarted()) {
            backendFailedRequest(); // not a pooled connection's keep-alive race: the backend dropped the request
        }
        backendFailed(Problem.BACKEND_CLOSED, target + (cause == null ? ": closed" : ": " + cause));
    }

    // ---- the client side, called by HttpProxyHandler ----

    /**
     * The client half-closed (a FIN; RFC 9293 §3.6: it may still read).
     * <ul>
     *   <li>an upgrade waiting for its 101: nothing yet; the FIN is relayed into the tunnel, or the connection
     *       closes after the answer if the backend declines;</li>
     *   <li>a request that can no longer be complete, no response begun: 400 (RFC 9112 §8), and the backend's
     *       connection, holding part of a request, is reset;</li>
     *   <li>otherwise (a complete request waiting for its answer, a long-poll above all, or a body cut while
     *       the response streams) the client is taken as gone and the backend freed at once, like nginx's
     *       default: a FIN from a browser or a mobile client means it left, and a backend connection held for
     *       an answer nobody reads is the costlier mistake. The backend may have parsed that request; nobody
     *       is left to take its answer.</li>
     * </ul>
     */
    void onClientFin() {
        if (phase == Phase.DONE || awaitingUpgrade()) {
            return;
        }
        if (!requestComplete && (phase == Phase.AWAITING_HEAD || phase == Phase.INTERIM)) {
            fail(HttpResponseStatus.BAD_REQUEST, Problem.BAD_REQUEST, "request cut short by a FIN from "
                    + ClientAddress.of(down.channel()) + " after " + bodyBytes + " body bytes");
            return;
        }
        onClientGone();
    }

    /** True while a WebSocket upgrade waits for the backend's answer (a 101, or anything else). */
    private boolean awaitingUpgrade() {
        return upgrade && (phase == Phase.AWAITING_HEAD || phase == Phase.INTERIM || phase == Phase.SWITCHING);
    }

    /** True while request body pieces are still to come. */
    boolean expectsRequestContent() {
        return !requestComplete && phase != Phase.DONE;
    }

    /** Whether the client connection should read now. */
    boolean wantsRequestBytes() {
        if (phase == Phase.DONE) {
            return false;
        }
        if (!requestComplete) {
            UpstreamConnectionHandler connection = upstream;
            return connection != null && connection.isWritable();
        }
        // Request done: keep a read posted to notice the client leaving (a long-poll it gave up on) or to
        // take its next pipelined request. Not for an upgrade: what follows may be WebSocket frames.
        return !upgrade;
    }

    void onRequestContent(HttpContent content) {
        lastActivity = owner.now();
        if (content.decoderResult().isFailure()) {
            content.release();
            clientFailed(HttpResponseStatus.BAD_REQUEST, Problem.BAD_REQUEST,
                    "bad request body: " + content.decoderResult().cause());
            return;
        }
        bodyBytes += content.content().readableBytes();
        if (bodyBytes > maxBody) {
            content.release();
            clientFailed(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, Problem.BODY_TOO_LARGE,
                    "chunked body past " + maxBody + " bytes");
            return;
        }
        boolean last = content instanceof LastHttpContent;
        UpstreamConnectionHandler connection = upstream;
        if (last) {
            ProxyHeaders.removeForbiddenTrailers(((LastHttpContent) content).trailingHeaders());
            requestComplete = true;
            stopBodyClockIfDone();
        }
        if (connection != null) {
            connection.write(content);
        } else {
            ArrayDeque<HttpContent> queued = early;
            if (queued == null) {
                queued = new ArrayDeque<>(2);
                early = queued;
            }
            queued.addLast(content);
        }
        if (last && (phase == Phase.AWAITING_HEAD || phase == Phase.INTERIM)) {
            armRequestTimeout(); // a 100 Continue already relayed does not answer the request
        } else if (bodyClock.running()) {
            armInactivity(); // the body's deadline moved with the bytes it brought
        }
    }

    void onRequestReadComplete() {
        UpstreamConnectionHandler connection = upstream;
        if (connection != null && phase != Phase.DONE) {
            connection.flush();
        }
    }

    void onDownstreamWritable() {
        UpstreamConnectionHandler connection = upstream;
        if (connection != null && phase != Phase.DONE) {
            connection.read();
        }
    }

    /** The backend this exchange is on (or connecting to), or null. */
    @Nullable InetSocketAddress backendAddress() {
        Backend target = backend();
        return target == null ? null : target.address();
    }

    /** Ends the exchange from the gateway's side: both connections are cut. */
    void cancel(String why) {
        if (phase == Phase.DONE) {
            return;
        }
        frontend.problems().report(Problem.CANCELLED, why + ": " + request.method() + " " + request.uri());
        abortBoth();
    }

    /** The client closed, reset, or half-closed before its request was complete. */
    void onClientGone() {
        if (phase == Phase.DONE) {
            return;
        }
        frontend.problems().report(Problem.CLIENT_CLOSED, ClientAddress.of(down.channel()) + " during "
                + request.method() + " " + request.uri());
        UpstreamConnectionHandler connection = upstream;
        upstream = null;
        end();
        if (connection != null) {
            connection.close(); // its response is unread: it cannot be reused
        }
        owner.abort();
    }

    void onDeadline(long nowNanos) {
        if (phase == Phase.DONE) {
            return;
        }
        if (requestComplete && (phase == Phase.AWAITING_HEAD || phase == Phase.INTERIM)) {
            backendFailedRequest();
            fail(HttpResponseStatus.GATEWAY_TIMEOUT, Problem.RESPONSE_TIMEOUT,
                    backend() + " " + request.method() + " " + request.uri());
            return;
        }
        if (bodyClock.running() && nowNanos - bodyClock.deadline(bodyBytes) >= 0) {
            UpstreamConnectionHandler connection = upstream;
            if (connection != null && !connection.isWritable()) {
                // The backend is not reading, so the client could not send: not the client's fault. The
                // body gets a fresh body-timeout from here (idle-timeout still ends a stall on both sides).
                bodyClock.start(nowNanos, bodyBytes);
            } else if (phase == Phase.AWAITING_HEAD || phase == Phase.INTERIM) {
                fail(HttpResponseStatus.REQUEST_TIMEOUT, Problem.BODY_TIMEOUT, bodyBytes + " body bytes from "
                        + ClientAddress.of(down.channel()) + " in " + bodyClock.elapsedMillis(nowNanos) + " ms");
                return;
            } else {
                frontend.problems().report(Problem.BODY_TIMEOUT, "request body from " + ClientAddress.of(down.channel()));
                abortBoth();
                return;
            }
        }
        if (inactivityNanos > 0 && nowNanos - lastActivity >= inactivityNanos) {
            Problem problem = Problem.STALLED;
            if (phase == Phase.AWAITING_HEAD) {
                fail(HttpResponseStatus.REQUEST_TIMEOUT, problem, "request body from " + ClientAddress.of(down.channel()));
            } else {
                frontend.problems().report(problem, "response to " + ClientAddress.of(down.channel()));
                abortBoth();
            }
            return;
        }
        armInactivity();
    }

    // ---- endings ----

    private void responseComplete() {
        UpstreamConnectionHandler connection = upstream;
        upstream = null;
        boolean reusable = requestComplete && !reuseForbidden;
        end();
        down.flush();
        if (connection != null) {
            if (reusable) {
                connection.release();
            } else {
                connection.close(); // answered before reading the whole body, or its framing was doubtful
            }
        }
        owner.exchangeDone(!closeAfterResponse && requestComplete);
    }

    private void becomeTunnel() {
        UpstreamConnectionHandler connection = upstream;
        Acquisition held = acquisition;
        upstream = null;
        phase = Phase.DONE;
        releaseEarly();
        down.flush();
        if (connection == null || held == null || held.backend() == null) {
            end();
            owner.abort();
            return;
        }
        owner.switchToTunnel(connection, held.handOver()); // the backend counts the tunnel until it closes
    }

    /** Something failed on the backend's side. */
    private void backendFailed(Problem problem, String detail) {
        if (phase == Phase.STREAMING || phase == Phase.SWITCHING) {
            frontend.problems().report(problem, detail);
            abortBoth();
        } else {
            fail(HttpResponseStatus.BAD_GATEWAY, problem, detail);
        }
    }

    /** Something was wrong with what the client sent. */
    private void clientFailed(HttpResponseStatus status, Problem problem, String detail) {
        if (phase == Phase.STREAMING || phase == Phase.SWITCHING) {
            frontend.problems().report(problem, detail);
            abortBoth();
        } else {
            fail(status, problem, detail);
        }
    }

    /** Answers the client with an error (no response byte sent yet) and drops the upstream connection. */
    private void fail(HttpResponseStatus status, Problem problem, String detail) {
        closeUpstream();
        end();
        owner.respondAndClose(status, problem, detail);
    }

    /** A response is already under way: close both sides so the client cannot take it for complete. */
    private void abortBoth() {
        closeUpstream();
        end();
        owner.abort();
    }

    private void closeUpstream() {
        UpstreamConnectionHandler connection = upstream;
        upstream = null;
        if (connection != null) {
            connection.close();
        }
    }

    private void end() {
        phase = Phase.DONE;
        owner.disarm();
        releaseEarly();
        Acquisition held = acquisition;
        if (held != null) {
            held.finished();
        }
    }

    private void releaseEarly() {
        ArrayDeque<HttpContent> queued = early;
        early = null;
        if (queued != null) {
            HttpContent piece;
            while ((piece = queued.pollFirst()) != null) {
                piece.release();
            }
        }
    }

    private void armInactivity() {
        long deadline = inactivityNanos > 0 ? lastActivity + inactivityNanos : 0;
        if (bodyClock.running()) {
            long body = bodyClock.deadline(bodyBytes);
            deadline = deadline == 0 || body - deadline < 0 ? body : deadline;
        }
        if (deadline != 0) {
            owner.arm(deadline);
        } else {
            owner.disarm();
        }
    }

    /** The body clock stops once the request is complete or a response has begun (then the body is moot). */
    private void stopBodyClockIfDone() {
        if (requestComplete || phase == Phase.STREAMING) {
            bodyClock.stop();
        }
    }

    private void armRequestTimeout() {
        if (Timeouts.isOff(Duration.ofNanos(requestTimeoutNanos))) {
            owner.disarm();
        } else {
            owner.arm(owner.now() + requestTimeoutNanos);
        }
    }
}
