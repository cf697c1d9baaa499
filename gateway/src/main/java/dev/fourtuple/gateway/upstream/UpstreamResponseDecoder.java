package dev.fourtuple.gateway.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import java.util.List;

/**
 * The response side of a backend connection's codec: {@code [decoder: UpstreamResponseDecoder]}. Netty's
 * HTTP/1.1 response decoder that knows which request each response answers, so it can tell whether a
 * connection is fit to be reused:
 * <ul>
 *   <li>a response to HEAD has no body whatever its head says (RFC 9110 §9.3.2); a 1xx ends with its head
 *       (RFC 9110 §15.2), as do 204 and 304 (RFC 9112 §6.3 rule 1);</li>
 *   <li>bytes that arrive when no response is due (while pooled, or after the final response ended: the body
 *       of a HEAD or 204, a second response, garbage) make the connection unfit: they are decoded as a
 *       failed message, never as the start of the next exchange's response (no response desync);</li>
 *   <li>{@link #clean()} is true only when the last response ended exactly at its framed end with nothing
 *       left over; only then may the connection go back to the pool;</li>
 *   <li>a HEAD, 204 or 304 response whose head declares a body (a non-zero Content-Length, any
 *       Transfer-Encoding) is not clean either: a backend that wrongly sends that body a moment later would
 *       have it parsed as the next exchange's response. (Bytes that arrive only after a reuse are beyond what
 *       any HTTP/1.1 proxy can tell apart.)</li>
 * </ul>
 */
final class UpstreamResponseDecoder extends HttpResponseDecoder {
    /** Response heads from backends may be larger than what we accept from clients; still bounded. */
    private static final int MAX_RESPONSE_HEADER_SIZE = 64 * 1024;
    private static final int MAX_RESPONSE_LINE = 16 * 1024;
    /** Largest body piece handed on at once; pieces are slices of the read buffer, so bigger is cheaper. */
    private static final int MAX_CHUNK = 64 * 1024;

    private boolean awaiting;
    private boolean toHead;
    private boolean finalHead;
    private boolean responseStarted;
    private boolean stray;
    private boolean declaredAbsentBody;
    private int lengthFields;

    private UpstreamResponseDecoder(HttpDecoderConfig config) {
        super(config);
    }

    /** The decoder of one backend connection. */
    static UpstreamResponseDecoder create() {
        return new UpstreamResponseDecoder(new HttpDecoderConfig()
                .setMaxInitialLineLength(MAX_RESPONSE_LINE)
                .setMaxHeaderSize(MAX_RESPONSE_HEADER_SIZE)
                .setMaxChunkSize(MAX_CHUNK)
                // Netty's defaults, set here so that no system property can loosen them (RFC 9112 §2.2, §6.1)
                .setStrictLineParsing(true)
                .setUseRfc9112TransferEncoding(true)
                .setAllowDuplicateContentLengths(false)
                .setValidateHeaders(true));
    }

    /** A request with this method was written: its response is due. */
    void expect(HttpMethod method) {
        awaiting = true;
        toHead = method.equals(HttpMethod.HEAD);
        finalHead = false;
        responseStarted = false;
        declaredAbsentBody = false;
        lengthFields = 0;
    }

    /** Whether any byte of the due response has arrived (then the request may have been processed). */
    boolean responseStarted() {
        return responseStarted;
    }

    /** True when no response is due, none was ever out of place, and no byte waits undecoded. */
    boolean clean() {
        return !awaiting && !stray && !declaredAbsentBody && actualReadableBytes() == 0;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
        if (!buffer.isReadable()) {
            return;
        }
        if (!awaiting) {
            // RFC 9112 §9.3: a server sends a response only to a request. These bytes belong to no exchange.
            int stranded = buffer.readableBytes();
            buffer.skipBytes(stranded);
            stray = true;
            HttpMessage invalid = createInvalidMessage();
            invalid.setDecoderResult(DecoderResult.failure(new IllegalStateException(
                    stranded + " byte(s) from the backend when no response was due")));
            out.add(invalid);
            return;
        }
        responseStarted = true;
        int before = out.size();
        super.decode(ctx, buffer, out);
        for (int i = before; i < out.size(); i++) {
            Object decoded = out.get(i);
            if (decoded instanceof HttpResponse response) {
                // RFC 9110 §15.2.2: after a 101 the connection speaks the new protocol; final for HTTP's sake
                finalHead = response.status().code() >= 200 || response.status().code() == 101;
                if (lengthFields > 1) {
                    // RFC 9112 §6.3 rule 5: more than one length is invalid framing, HTTP/1.0 too (Netty
                    // checks duplicates only from 1.1 on, keeping the first length of a 1.0 message)
                    response.setDecoderResult(DecoderResult.failure(new IllegalArgumentException(
                            "more than one Content-Length field")));
                }
                lengthFields = 0;
            }
            if (decoded instanceof HttpObject message && message.decoderResult().isFailure()) {
                stray = true; // the framing is lost: never reuse
                awaiting = false;
            } else if (decoded instanceof LastHttpContent && finalHead) {
                awaiting = false;
            }
        }
    }

    /** Counts the Content-Length field lines of the head being parsed (Netty merges them before we see it). */
    @Override
    protected AsciiString splitHeaderName(byte[] sb, int start, int length) {
        AsciiString name = super.splitHeaderName(sb, start, length);
        if (HttpHeaderNames.CONTENT_LENGTH.contentEqualsIgnoreCase(name)) {
            lengthFields++;
        }
        return name;
    }

    @Override
    protected boolean isContentAlwaysEmpty(HttpMessage msg) {
        if (!(msg instanceof HttpResponse response)) {
            return super.isContentAlwaysEmpty(msg);
        }
        int code = response.status().code();
        if (code < 200) {
            return true; // RFC 9110 §15.2: a 1xx ends with its head
        }
        boolean empty = toHead || super.isContentAlwaysEmpty(msg); // RFC 9110 §9.3.2 HEAD; 204 and 304
        if (empty) {
            // Read here, before Netty drops a chunked Transfer-Encoding from a bodyless response's head.
            HttpHeaders headers = response.headers();
            declaredAbsentBody = headers.contains(HttpHeaderNames.TRANSFER_ENCODING)
                    || HttpUtil.getContentLength(response, 0L) != 0L;
        }
        return empty;
    }
}
