package dev.fourtuple.gateway.admission;

import dev.fourtuple.gateway.timeout.TimerWheel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The whole pipeline of a refused connection: {@code [refusal: RefusalHandler]}. Writes the pre-encoded 503
 * without reading the request, shuts its output, then reads and discards until the client closes (or a
 * second passes), so the close does not reset a client that has not read its 503 yet (RFC 9112 §9.6).
 */
public final class RefusalHandler extends ChannelInboundHandlerAdapter implements TimerWheel.Owner {
    /** Pipeline name. */
    public static final String NAME = "refusal";
    private static final long LINGER_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final AdmissionController controller;
    private final RefusalResponses responses;
    private final TimerWheel wheel;
    private @Nullable ChannelHandlerContext ctx;
    private TimerWheel.@Nullable Entry entry;

    RefusalHandler(AdmissionController controller, RefusalResponses responses, TimerWheel wheel) {
        this.controller = controller;
        this.responses = responses;
        this.wheel = wheel;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        controller.refusalOpened();
        TimerWheel.Entry lingering = wheel.register(this);
        entry = lingering;
        wheel.scheduleAfter(lingering, LINGER_NANOS);
        ctx.writeAndFlush(responses.pick()).addListener((ChannelFutureListener) written -> {
            if (written.isSuccess() && written.channel() instanceof DuplexChannel duplex) {
                duplex.shutdownOutput();
            } else {
                written.channel().close();
            }
        });
        ctx.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg); // the request of a client we cannot serve
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        ctx.read();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            ctx.close(); // the client has its answer and closed: we are done
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        controller.refusalClosed();
        TimerWheel.Entry lingering = entry;
        if (lingering != null) {
            wheel.unregister(lingering);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    @Override
    public void onDeadline(long nowNanos) {
        ChannelHandlerContext c = ctx;
        if (c != null) {
            c.channel().config().setOption(ChannelOption.SO_LINGER, 0); // it had its second: nothing to wait for
            c.close();
        }
    }
}
