package dev.fourtuple.gateway.demo;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/** Per connection of an {@link EchoBackend}: {@code [codec: HttpServerCodec] → [echo: EchoBackendHandler]}. */
final class EchoBackendHandler extends ChannelInboundHandlerAdapter {
    private static final int PIECE = 64 * 1024;
    private static final int MAX_FRAME = 16 * 1024 * 1024;
    /** Byte i of a /bytes body is i % 251; any PIECE-long run of it starts somewhere in the first 251. */
    private static final byte[] PATTERN = new byte[PIECE + 251];

    static {
        for (int i = 0; i < PATTERN.length; i++) {
            PATTERN[i] = (byte) (i % 251);
        }
    }

    private final String name;
    private @Nullable WebSocketServerHandshaker handshaker;
    private boolean echoingBody;
    private long remainingToStream;
    private long streamed;

    EchoBackendHandler(String name) {
        this.name = name;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof WebSocketFrame frame) {
            onFrame(ctx, frame);
        } else if (msg instanceof HttpRequest request) {
            onRequest(ctx, request);
        } else if (msg instanceof HttpContent content) {
            onContent(ctx, content);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    private void onRequest(ChannelHandlerContext ctx, HttpRequest request) {
        QueryStringDecoder uri = new QueryStringDecoder(request.uri());
        String path = uri.path();
        if (path.equals("/ws") && request.headers().contains(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true)) {
            WebSocketServerHandshaker ws = new WebSocketServerHandshakerFactory(
                    "ws://" + request.headers().get(HttpHeaderNames.HOST) + path, null, true, MAX_FRAME)
                    .newHandshaker(request);
            if (ws == null) {
                WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ctx.channel());
                return;
            }
            handshaker = ws;
            ws.handshake(ctx.channel(), new DefaultFullHttpRequest(request.protocolVersion(), request.method(),
                    request.uri(), Unpooled.EMPTY_BUFFER, request.headers(), EmptyHttpHeaders.INSTANCE));
            return;
        }
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        if (path.equals("/close")) {
            ctx.close();
        } else if (path.equals("/poll")) {
            long wait = Long.parseLong(first(uri.parameters(), "wait", "1000"));
            ctx.executor().schedule(() -> respond(ctx, HttpResponseStatus.OK, "polled after " + wait + " ms\n", keepAlive),
                    wait, TimeUnit.MILLISECONDS);
        } else if (path.equals("/bytes")) {
            remainingToStream = Long.parseLong(first(uri.parameters(), "n", "0"));
            streamed = 0;
            HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers().set("X-Backend", name).set(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream");
            HttpUtil.setContentLength(head, remainingToStream);
            ctx.write(head);
            pump(ctx);
        } else if (path.startsWith("/status/")) {
            int code = Integer.parseInt(path.substring("/status/".length()));
            respond(ctx, HttpResponseStatus.valueOf(code), "status " + code + "\n", keepAlive);
        } else if (HttpUtil.isTransferEncodingChunked(request) || HttpUtil.getContentLength(request, 0L) > 0) {
            echoingBody = true;
            HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers().set("X-Backend", name).set(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream");
            HttpUtil.setTransferEncodingChunked(head, true);
            ctx.write(head);
        } else {
            StringBuilder text = new StringBuilder();
            text.append("backend ").append(name).append(": ").append(request.method()).append(' ')
                    .append(request.uri()).append(' ').append(request.protocolVersion()).append('\n');
            for (Map.Entry<String, String> header : request.headers()) {
                text.append(header.getKey().toLowerCase(java.util.Locale.ROOT)).append(": ")
                        .append(header.getValue()).append('\n');
            }
            respond(ctx, HttpResponseStatus.OK, text.toString(), keepAlive);
        }
    }

    private void onContent(ChannelHandlerContext ctx, HttpContent content) {
        if (!echoingBody) {
            content.release();
            return;
        }
        boolean last = content instanceof LastHttpContent;
        if (content.content().isReadable()) {
            ctx.write(new DefaultHttpContent(content.content().retain()));
        }
        content.release();
        if (last) {
            echoingBody = false;
            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        } else {
            ctx.flush();
        }
    }

    private void pump(ChannelHandlerContext ctx) {
        while (remainingToStream > 0 && ctx.channel().isWritable()) {
            int size = (int) Math.min(PIECE, remainingToStream);
            ByteBuf piece = ctx.alloc().buffer(size);
            piece.writeBytes(PATTERN, (int) (streamed % 251), size);
            streamed += size;
            remainingToStream -= size;
            ctx.write(new DefaultHttpContent(piece));
        }
        if (remainingToStream == 0) {
            remainingToStream = -1;
            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        } else {
            ctx.flush();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable() && remainingToStream > 0) {
            pump(ctx);
        }
        ctx.fireChannelWritabilityChanged();
    }

    private void onFrame(ChannelHandlerContext ctx, WebSocketFrame frame) {
        WebSocketServerHandshaker ws = handshaker;
        if (frame instanceof CloseWebSocketFrame close && ws != null) {
            ws.close(ctx.channel(), close);
        } else if (frame instanceof PingWebSocketFrame) {
            ctx.writeAndFlush(new PongWebSocketFrame(frame.content()));
        } else if (frame instanceof PongWebSocketFrame) {
            frame.release();
        } else {
            ctx.writeAndFlush(frame); // text, binary and continuation frames go back as they came
        }
    }

    private void respond(ChannelHandlerContext ctx, HttpResponseStatus status, String body, boolean keepAlive) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.wrappedBuffer(bytes));
        response.headers()
                .set("X-Backend", name)
                .set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
                .setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
        if (!keepAlive) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        } else {
            ctx.writeAndFlush(response);
        }
    }

    private static String first(Map<String, List<String>> parameters, String key, String fallback) {
        List<String> values = parameters.get(key);
        return values == null || values.isEmpty() ? fallback : values.get(0);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
