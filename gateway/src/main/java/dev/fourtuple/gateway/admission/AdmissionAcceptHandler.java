package dev.fourtuple.gateway.admission;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.util.AttributeKey;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * On a listening socket's pipeline, ahead of Netty's acceptor: each accepted connection is admitted,
 * marked for refusal (the front end then installs a {@link RefusalHandler} instead of HTTP), or, below the fd
 * hard floor, reset at once without even being registered. With an accept rate, connections beyond it wait in
 * the kernel's accept queue (reading the listening socket pauses) or are refused, as configured.
 *
 * <p>An accept() that fails anyway (EMFILE from fds opened elsewhere) is counted and passed on to Netty's
 * acceptor, which stops accepting for a second instead of spinning on the still-readable socket.
 *
 * <p>One instance per listening socket; confined to its loop.
 */
public final class AdmissionAcceptHandler extends ChannelInboundHandlerAdapter {
    /** Set on a child channel that must be refused, with the reason. */
    public static final AttributeKey<Resource> REFUSED = AttributeKey.valueOf("fourtuple.admission.refused");

    private final AdmissionController controller;
    private final ArrayDeque<Channel> waiting = new ArrayDeque<>();
    private boolean resumeScheduled;

    AdmissionAcceptHandler(AdmissionController controller) {
        this.controller = controller;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Channel child = (Channel) msg;
        TokenBucket rate = controller.acceptBucket();
        if (rate != null) {
            if (!waiting.isEmpty()) {
                waiting.addLast(child); // keep arrival order behind those already waiting
                return;
            }
            if (!rate.tryTake(ctx.executor().ticker().nanoTime())) {
                if (controller.refuseExcess()) {
                    forward(ctx, child, Resource.ACCEPT_RATE);
                } else {
                    waiting.addLast(child);
                    pause(ctx);
                }
                return;
            }
        }
        forward(ctx, child, null);
    }

    private void forward(ChannelHandlerContext ctx, Channel child, @Nullable Resource forced) {
        if (controller.belowHardFloor()) {
            controller.reset();
            child.config().setOption(ChannelOption.SO_LINGER, 0);
            child.unsafe().closeForcibly(); // never registered: costs nothing more than the close
            return;
        }
        Resource reason = forced != null ? forced : controller.check();
        if (reason != null) {
            controller.refused(reason);
            child.attr(REFUSED).set(reason);
        } else {
            controller.admitted(child); // charged from now, before it is even registered
        }
        ctx.fireChannelRead(child);
    }

    /** Stops reading the listening socket: further connections wait in the kernel's accept queue. */
    private void pause(ChannelHandlerContext ctx) {
        ctx.channel().config().setAutoRead(false);
        scheduleResume(ctx);
    }

    private void scheduleResume(ChannelHandlerContext ctx) {
        TokenBucket rate = controller.acceptBucket();
        if (resumeScheduled || rate == null) {
            return;
        }
        resumeScheduled = true;
        long delay = Math.max(1_000_000L, rate.nanosUntilToken(ctx.executor().ticker().nanoTime()));
        ctx.executor().schedule(() -> resume(ctx), delay, TimeUnit.NANOSECONDS);
    }

    private void resume(ChannelHandlerContext ctx) {
        resumeScheduled = false;
        TokenBucket rate = controller.acceptBucket();
        if (!ctx.channel().isActive()) {
            return;
        }
        if (rate == null) { // the accept rate was switched off by a reload: let everyone in
            Channel child;
            while ((child = waiting.pollFirst()) != null) {
                forward(ctx, child, null);
            }
            ctx.channel().config().setAutoRead(true);
            return;
        }
        while (!waiting.isEmpty() && rate.tryTake(ctx.executor().ticker().nanoTime())) {
            forward(ctx, waiting.pollFirst(), null);
        }
        if (waiting.isEmpty()) {
            ctx.channel().config().setAutoRead(true); // Netty reads (accepts) again at once
        } else {
            scheduleResume(ctx);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException) {
            controller.acceptFailed(cause);
        }
        ctx.fireExceptionCaught(cause); // Netty's acceptor pauses accepting for a second
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        Channel child;
        while ((child = waiting.pollFirst()) != null) {
            child.unsafe().closeForcibly();
        }
        ctx.fireChannelInactive();
    }
}
