package dev.fourtuple.gateway.inbound;

import dev.fourtuple.gateway.config.Limits;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The request side of a client connection's codec: {@code [decoder: FrontendRequestDecoder]}, ahead of the
 * proxy handler. Netty's HTTP/1.1 request decoder (strict line parsing, header validation, RFC 9112 framing
 * rules) that decodes one request at a time:
 * <ul>
 *   <li>After each complete request it pauses: bytes the client sends behind it (pipelined requests, or the
 *       first WebSocket frames after an upgrade request) stay undecoded in its buffer until the proxy resumes
 *       it when that request's exchange has ended, or, after a 101, hands them to the tunnel as they are
 *       (its buffer goes to the next handler when it is removed). Nothing is decoded ahead of its turn, so no
 *       request can be answered out of order or dropped, and an upgrade's early bytes are never read as HTTP.
 *       While paused it does not ask for reads of its own; the proxy decides, and bounds what is held.</li>
 *   <li>It tells the proxy when the first byte of a request head arrives ({@link #HEAD_STARTED}, a user
 *       event), so that header-timeout runs for every head on a kept-alive connection, not only the first.</li>
 * </ul>
 */
final class FrontendRequestDecoder extends HttpRequestDecoder {
    /** User event: the first byte of a new request head has arrived. */
    static final Object HEAD_STARTED = new Object() {
        @Override
        public String toString() {
            return "HEAD_STARTED";
        }
    };

    /** Largest body piece handed on at once; pieces are slices of the read buffer, so bigger is cheaper. */
    private static final int MAX_CHUNK = 64 * 1024;

    private @Nullable ChannelHandlerContext ctx;
    private boolean paused;
    private boolean inMessage;
    private int lengthFields;

    private FrontendRequestDecoder(HttpDecoderConfig config) {
        super(config);
    }

    /** The decoder of one client connection. */
    static FrontendRequestDecoder create(Limits limits) {
        return new FrontendRequestDecoder(new HttpDecoderConfig()
                .setMaxInitialLineLength(limits.maxInitialLineLength())
                .setMaxHeaderSize(limits.maxHeaderSize())
                .setMaxChunkSize(MAX_CHUNK)
                // Netty's defaults, set here so that no system property can loosen them: CRLF only
                // (RFC 9112 §2.2), Content-Length beside Transfer-Encoding refused (§6.1), one length (§6.3).
                .setStrictLineParsing(true)
                .setUseRfc9112TransferEncoding(true)
                .setAllowDuplicateContentLengths(false)
                .setValidateHeaders(true));
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
        this.ctx = ctx;
        super.handlerAdded(ctx);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
        if (paused) {
            return; // the bytes stay in the cumulation until resume()
        }
        if (!inMessage && startsAHead(buffer)) {
            inMessage = true;
            lengthFields = 0;
            ctx.fireUserEventTriggered(HEAD_STARTED);
        }
        int before = out.size();
        super.decode(ctx, buffer, out);
        for (int i = before; i < out.size(); i++) {
            Object decoded = out.get(i);
            if (decoded instanceof HttpMessage head && lengthFields > 1) {
                // RFC 9112 §6.3 rule 5: more than one length is invalid framing, HTTP/1.0 too (Netty checks
                // duplicates only from 1.1 on, keeping the first length of a 1.0 message)
                head.setDecoderResult(DecoderResult.failure(new IllegalArgumentException(
                        "more than one Content-Length field")));
            }
            if (decoded instanceof LastHttpContent
                    || decoded instanceof HttpObject message && message.decoderResult().isFailure()) {
                inMessage = false;
                paused = true; // one request at a time: the rest waits for resume()
            }
        }
    }

    /**
     * The client's FIN. Between requests or inside one, Netty's handling stands (a head cut short is a failed
     * message). While paused, what is held is kept rather than released with the end of input: after an
     * upgrade request those are frames the tunnel must relay before the FIN; otherwise the connection closes
     * after the current answer and they are released undecoded.
     */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (paused && evt instanceof ChannelInputShutdownEvent) {
            ctx.fireUserEventTriggered(evt);
            return;
        }
        super.userEventTriggered(ctx, evt);
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

    /**
     * Whether the bytes hold the start of a request line. RFC 9112 §2.2: empty lines before one are ignored
     * (Netty skips them), so a stray CRLF after a request starts no head and leaves the connection idle.
     */
    private static boolean startsAHead(ByteBuf buffer) {
        return buffer.forEachByte(b -> b == '\r' || b == '\n') >= 0;
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        if (paused) {
            // ByteToMessageDecoder would ask for another read because this one decoded nothing: while paused
            // the proxy alone decides when to read.
            discardSomeReadBytes();
            ctx.fireChannelReadComplete();
            return;
        }
        super.channelReadComplete(ctx);
    }

    /** True when every byte the client sent belongs to requests decoded in full: none held, none half-read. */
    boolean holdsNothing() {
        return !inMessage && actualReadableBytes() == 0;
    }

    /** Bytes received and held undecoded while paused (0 while decoding). */
    int heldBytes() {
        return paused ? actualReadableBytes() : 0;
    }

    /**
     * The current request's exchange has ended: decode what is held, then go on with new reads. Runs on the
     * channel's loop, not from inside another handler's read (the next request's exchange may start here).
     */
    void resume() {
        paused = false;
        ChannelHandlerContext c = ctx;
        if (c == null || c.isRemoved() || !internalBuffer().isReadable()) {
            return;
        }
        try {
            // An empty read runs the decode loop over the held bytes; the proxy sees them as if just read.
            channelRead(c, Unpooled.EMPTY_BUFFER);
            channelReadComplete(c);
        } catch (DecoderException e) {
            throw e;
        } catch (Exception e) {
            throw new DecoderException(e);
        }
    }
}
