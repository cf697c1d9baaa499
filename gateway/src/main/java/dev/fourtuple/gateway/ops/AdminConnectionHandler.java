package dev.fourtuple.gateway.ops;

import dev.fourtuple.gateway.timeout.TimerWheel;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * First in every admin connection's pipeline, on raw bytes:
 * {@code [guard: AdminConnectionHandler] → [codec: HttpServerCodec] → [admin: AdminRequestHandler]}.
 * It owns the connection's life; the request handler only answers requests.
 * <ul>
 *   <li>Admits it, or answers a pre-encoded 503 when {@code admin.max-connections} are open.</li>
 *   <li>Times the request heads: {@code header-timeout} from the connect, and from the first byte after each
 *       response; then a pre-encoded 408. Between a response and the next byte, {@code idle-timeout}: then
 *       closed without a word. Each response is written whole with one flush (the request handler writes one
 *       full response per request), so a flush marks the end of a response.</li>
 *   <li>Reads no more while the client does not read its responses (the channel is not writable).</li>
 *   <li>Makes every close polite, its own and those asked for further up: the responses written so far go
 *       out, then a FIN; what the client still sends is read and dropped until it closes, or for a second, so
 *       the close does not reset a client that has not read its answer yet (RFC 9112 §9.6).</li>
 * </ul>
 * Every deadline is an entry in the admin loop's one {@link TimerWheel}: no timer task per connection.
 *
 * <p>Tolerated on purpose: a pipelined head that arrives in the same read as the end of the request before
 * it is timed from that response by idle-timeout, not header-timeout (the guard sees bytes, not where the
 * codec's heads end). It is bounded all the same.
 */
final class AdminConnectionHandler extends ChannelDuplexHandler implements TimerWheel.Owner {
    private static final long LINGER_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final ByteBuf TIMEOUT = encode("408 Request Timeout", "", "request head not received in time\n");
    private static final ByteBuf BUSY = encode("503 Service Unavailable", "Retry-After: 1\r\n",
            "too many admin connections\n");

    /** Waiting for a request head to complete; reading while it does. */
    private static final int HEAD = 0;
    /** Between a response and the next request's first byte. */
    private static final int IDLE = 1;
    /** The last answer is written; waiting for the client to close. */
    private static final int CLOSING = 2;

    private final AdminConnections connections;
    private @Nullable ChannelHandlerContext ctx;
    private TimerWheel.@Nullable Entry entry;
    private int phase = HEAD;
    private boolean admitted;

    AdminConnectionHandler(AdminConnections connections) {
        this.connections = connections;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        TimerWheel.Entry timer = connections.wheel().register(this);
        entry = timer;
        admitted = connections.admit();
        if (!admitted) {
            closePolitely(ctx, BUSY.duplicate());
            return;
        }
        connections.wheel().scheduleAfter(timer, connections.headerTimeoutNanos());
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (phase == CLOSING) {
            ReferenceCountUtil.release(msg); // after the last answer: nothing more is read
            return;
        }
        if (phase == IDLE) {
            phase = HEAD;
            TimerWheel.Entry timer = entry;
            if (timer != null) {
                connections.wheel().scheduleAfter(timer, connections.headerTimeoutNanos());
            }
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
        ctx.flush();
        if (phase != CLOSING) {
            phase = IDLE;
            TimerWheel.Entry timer = entry;
            if (timer != null) {
                if (connections.idleTimeoutNanos() > 0) {
                    connections.wheel().scheduleAfter(timer, connections.idleTimeoutNanos());
                } else {
                    connections.wheel().disarm(timer);
                }
            }
            if (!ctx.channel().isWritable()) {
                ctx.channel().config().setAutoRead(false); // until the client has read what is queued
            }
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            ctx.channel().config().setAutoRead(true);
        }
        ctx.fireChannelWritabilityChanged();
    }

    /** A close asked for by a handler further up (after a response with Connection: close): made polite. */
    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        ctx.channel().closeFuture().addListener(closed -> promise.trySuccess());
        closePolitely(ctx, Unpooled.EMPTY_BUFFER);
    }

    @Override
    public void onDeadline(long nowNanos) {
        ChannelHandlerContext c = ctx;
        if (c == null) {
            return;
        }
        if (phase == HEAD) {
            closePolitely(c, TIMEOUT.duplicate());
        } else if (phase == IDLE) {
            c.close(); // an idle connection: nothing in flight, nothing to say
        } else {
            c.channel().config().setOption(ChannelOption.SO_LINGER, 0); // it had its second
            c.close();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        TimerWheel.Entry timer = entry;
        if (timer != null) {
            connections.wheel().unregister(timer);
        }
        if (admitted) {
            admitted = false;
            connections.closed();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close(); // a reset or a read error: nothing left to be polite to
    }

    /** Writes the last answer (after what is already queued), then FIN, then reads until the client closes. */
    private void closePolitely(ChannelHandlerContext ctx, ByteBuf last) {
        if (phase == CLOSING) {
            ReferenceCountUtil.release(last);
            return;
        }
        phase = CLOSING;
        TimerWheel.Entry timer = entry;
        if (timer != null) {
            connections.wheel().scheduleAfter(timer, LINGER_NANOS);
        }
        ctx.channel().config().setAutoRead(true); // to see the client's FIN (its bytes are dropped)
        ctx.writeAndFlush(last).addListener((ChannelFutureListener) written -> {
            if (written.isSuccess() && written.channel() instanceof DuplexChannel duplex) {
                duplex.shutdownOutput();
            } else {
                ctx.close();
            }
        });
    }

    private static ByteBuf encode(String status, String headers, String body) {
        String response = "HTTP/1.1 " + status + "\r\n"
                + "Content-Type: text/plain; charset=us-ascii\r\n"
                + "Content-Length: " + body.length() + "\r\n"
                + headers
                + "Connection: close\r\n\r\n"
                + body;
        // Heap, wrapped, unreleasable: shared by every connection for the process's life, never freed or leaked.
        return Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(response.getBytes(StandardCharsets.US_ASCII))
                .asReadOnly());
    }
}
