package dev.fourtuple.gateway.ops;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers the four admin paths, last in the pipeline:
 * {@code [guard: AdminConnectionHandler] → [codec: HttpServerCodec] → [admin: AdminRequestHandler]}.
 * Works on request heads (no aggregator: the admin takes no bodies); writes exactly one full response per
 * request with one flush, which {@link AdminConnectionHandler} relies on. A request it will not serve on
 * that connection is answered, then closed (the guard makes the close polite). Stateless: one instance.
 */
@Sharable
final class AdminRequestHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(AdminRequestHandler.class);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final String TEXT = "text/plain; charset=utf-8";

    private final Supplier<String> metrics;
    private final Supplier<Map<String, Object>> status;
    private final BooleanSupplier ready;

    AdminRequestHandler(Supplier<String> metrics, Supplier<Map<String, Object>> status, BooleanSupplier ready) {
        this.metrics = metrics;
        this.status = status;
        this.ready = ready;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws JsonProcessingException {
        try {
            if (msg instanceof HttpRequest request) {
                answer(ctx, request);
            }
            // else a request's content: a GET's empty last content, or a body already refused with its head
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void answer(ChannelHandlerContext ctx, HttpRequest request) throws JsonProcessingException {
        DecoderResult decoded = request.decoderResult();
        if (decoded.isFailure()) {
            Throwable cause = decoded.cause();
            if (cause instanceof TooLongHttpLineException) {
                close(ctx, respond(HttpResponseStatus.REQUEST_URI_TOO_LONG, "request line over "
                        + AdminServer.MAX_REQUEST_LINE + " bytes\n", TEXT));
            } else if (cause instanceof TooLongHttpHeaderException) {
                close(ctx, respond(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "request head over "
                        + AdminServer.MAX_HEAD + " bytes\n", TEXT));
            } else {
                close(ctx, respond(HttpResponseStatus.BAD_REQUEST, "malformed request\n", TEXT));
            }
            return;
        }
        // The admin reads no body: a request that has one cannot be followed on this connection.
        boolean body = HttpUtil.getContentLength(request, 0L) > 0
                || request.headers().contains(HttpHeaderNames.TRANSFER_ENCODING);
        HttpMethod method = request.method();
        if (!method.equals(HttpMethod.GET) && !method.equals(HttpMethod.HEAD)) {
            FullHttpResponse response = respond(HttpResponseStatus.METHOD_NOT_ALLOWED, "GET or HEAD only\n", TEXT);
            response.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD"); // RFC 9110 §15.5.6
            send(ctx, request, response, body);
            return;
        }
        if (body) {
            close(ctx, respond(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "the admin takes no request body\n",
                    TEXT));
            return;
        }
        FullHttpResponse response = switch (new QueryStringDecoder(request.uri()).path()) {
            case "/metrics" -> respond(HttpResponseStatus.OK, metrics.get(), "text/plain; version=0.0.4; charset=utf-8");
            case "/healthz" -> respond(HttpResponseStatus.OK, "ok\n", TEXT);
            case "/readyz" -> ready.getAsBoolean() ? respond(HttpResponseStatus.OK, "ready\n", TEXT)
                    : respond(HttpResponseStatus.SERVICE_UNAVAILABLE, "not ready (starting or draining)\n", TEXT);
            case "/status" -> respond(HttpResponseStatus.OK, JSON.writeValueAsString(status.get()), "application/json");
            default -> respond(HttpResponseStatus.NOT_FOUND, "try /metrics, /healthz, /readyz, /status\n", TEXT);
        };
        send(ctx, request, response, false);
    }

    private static void send(ChannelHandlerContext ctx, HttpRequest request, FullHttpResponse response,
            boolean close) {
        if (close || !HttpUtil.isKeepAlive(request)) {
            close(ctx, response);
        } else {
            HttpUtil.setKeepAlive(response, true);
            ctx.writeAndFlush(response);
        }
    }

    /** The last response on this connection. */
    private static void close(ChannelHandlerContext ctx, FullHttpResponse response) {
        HttpUtil.setKeepAlive(response, false);
        ctx.writeAndFlush(response);
        ctx.close();
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
        log.debug("admin request on {} failed", ctx.channel(), cause);
        ctx.close();
    }
}
