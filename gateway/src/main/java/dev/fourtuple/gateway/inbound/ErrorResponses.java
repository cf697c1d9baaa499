package dev.fourtuple.gateway.inbound;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/**
 * The small responses the gateway answers with itself. Each closes the connection; a 503 says when to come
 * back (RFC 9110 §10.2.3).
 */
final class ErrorResponses {
    /** Ports free up as connections close: a second is a fair first guess for a client to wait. */
    private static final int RETRY_AFTER_SECONDS = 1;

    private ErrorResponses() {
    }

    /** "502 Bad Gateway" with a one-line plain-text body and {@code Connection: close}. */
    static FullHttpResponse of(HttpResponseStatus status) {
        byte[] body = (status.code() + " " + status.reasonPhrase() + "\n").getBytes(StandardCharsets.US_ASCII);
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.wrappedBuffer(body));
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=us-ascii")
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length)
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        if (status.code() == HttpResponseStatus.SERVICE_UNAVAILABLE.code()) {
            response.headers().setInt(HttpHeaderNames.RETRY_AFTER, RETRY_AFTER_SECONDS);
        }
        return response;
    }
}
