package dev.fourtuple.gateway.admission;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.util.AttributeKey;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * On a listening socket's pipeline, ahead of Netty's acceptor: {@code [admission: AdmissionAcceptHandler] →
 * [ServerBootstrapAcceptor]}. Each accepted connection is admitted, marked for refusal (the front end then
 * installs a {@link RefusalHandler} instead of HTTP), or, below the fd hard floor, reset at once without even
 * being registered. With an accept rate, connections beyond it wait (reading the listening socket pauses, so
 * the next ones stay in the kernel's accept queue) or are refused, as configured.
 *
 * <p><b>The one owner of the listening socket's {@code autoRead}.</b> Two things pause accepting: the accept
 * rate (while connections wait for a token) and an accept error (a back-off of {@link #ERROR_BACKOFF_NANOS}:
 * EMFILE from fds opened elsewhere, where an immediate retry would spin on the still-readable socket).
 * Reading resumes only when neither holds it, nor the listener's {@link AcceptGate} (TLS handshakes in
 * flight at their maximum). Errors are therefore not passed on: Netty's
 * {@code ServerBootstrapAcceptor.exceptionCaught} would pause the socket on a timer of its own for any
 * exception and switch reading back on after a second whatever the rate says, so that more connections are
 * read than the rate lets through. (An exception thrown inside the acceptor itself would reach its own
 * {@code exceptionCaught}, but its {@code channelRead} catches what registering a child can throw.)
 *
 * <p><b>The waiting queue is bounded</b> at {@link #MAX_WAITING}. Reading stops with the first connection
 * that must wait, so the queue holds what one read of the listening socket delivers after that: nothing
 * more with epoll and io_uring (their read loop checks {@code autoRead} after each accept), up to
 * {@code maxMessagesPerRead} (16) with NIO, which accepts a batch before handing it on. Should more arrive
 * anyway, the excess is refused at once with the 503 of {@link Resource#ACCEPT_RATE}: each is an accepted
 * socket already, so keeping it costs an fd and closing it unanswered tells its client nothing, while the
 * 503 costs a write and says when to come back. Waiting connections are charged to the fd budget (1 fd each)
 * while they wait.
 *
 * <p>One instance per listening socket; confined to its loop.
 */
public final class AdmissionAcceptHandler extends ChannelInboundHandlerAdapter {
    /** Set on a child channel that must be refused, with the reason. */
    public static final AttributeKey<Resource> REFUSED = AttributeKey.valueOf("fourtuple.admission.refused");
    /** Accepted connections held for the accept rate at most, per listening socket. */
    static final int MAX_WAITING = 64;
    /** Accepting pauses this long after an accept error (Netty's acceptor paused for the same second). */
    static final long ERROR_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final AdmissionController controller;
    private final AcceptGate gate;
    /** False on a PROXY protocol listener: the client is known only from the header (see admitClient). */
    private final boolean perClientAtAccept;
    private final ArrayDeque<Channel> waiting = new ArrayDeque<>();
    // Made once, ahead of need: at the fd limit, loading a class from a jar can fail (netty/netty#1328).
    private final Runnable resumeTask = this::resume;
    private final Runnable backoffEndTask = this::backoffEnded;
    private final Runnable gateChangedTask = this::gateChanged;
    private @Nullable ChannelHandlerContext ctx;
    private boolean resumeScheduled;
    private boolean backingOff;

    AdmissionAcceptHandler(AdmissionController controller, AcceptGate gate) {
        this(controller, gate, true);
    }

    AdmissionAcceptHandler(AdmissionController controller, AcceptGate gate, boolean perClientAtAccept) {
        this.controller = controller;
        this.gate = gate;
        this.perClientAtAccept = perClientAtAccept;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        gate.attach(ctx.channel(), () -> {
            // On the loop: at once, so that the read loop, which checks autoRead after each accept, stops.
            if (ctx.executor().inEventLoop()) {
                gateChanged();
            } else {
                ctx.executor().execute(gateChangedTask);
            }
        });
    }

    private void gateChanged() {
        ChannelHandlerContext c = ctx;
        if (c != null && c.channel().isActive()) {
            updateAutoRead(c);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Channel child = (Channel) msg;
        if (!waiting.isEmpty()) {
            hold(ctx, child); // keep arrival order behind those already waiting
            return;
        }
        TokenBucket rate = controller.acceptBucket();
        if (rate != null && !rate.tryTake(now(ctx))) {
            if (controller.refuseExcess()) {
                forward(ctx, child, Resource.ACCEPT_RATE);
            } else {
                hold(ctx, child);
            }
            return;
        }
        forward(ctx, child, null);
    }

    private void hold(ChannelHandlerContext ctx, Channel child) {
        if (waiting.size() >= MAX_WAITING) {
            forward(ctx, child, Resource.ACCEPT_RATE);
            return;
        }
        waiting.addLast(child);
        controller.waitingStarted();
        updateAutoRead(ctx);
        scheduleResume(ctx);
    }

    private void forward(ChannelHandlerContext ctx, Channel child, @Nullable Resource forced) {
        if (controller.belowHardFloor()) {
            controller.reset();
            child.config().setOption(ChannelOption.SO_LINGER, 0);
            child.unsafe().closeForcibly(); // never registered: costs nothing more than the close
            return;
        }
        Resource reason = forced != null ? forced : controller.admit(child, now(ctx), perClientAtAccept);
        if (reason != null) {
            controller.refused(reason);
            child.attr(REFUSED).set(reason);
        }
        ctx.fireChannelRead(child);
    }

    /** The only place that sets the listening socket's autoRead: on when neither the rate, a back-off nor the gate holds. */
    private void updateAutoRead(ChannelHandlerContext ctx) {
        ctx.channel().config().setAutoRead(waiting.isEmpty() && !backingOff && !gate.shut());
    }

    private void scheduleResume(ChannelHandlerContext ctx) {
        if (resumeScheduled) {
            return;
        }
        resumeScheduled = true;
        TokenBucket rate = controller.acceptBucket();
        long delay = rate == null ? 0 : rate.nanosUntilToken(now(ctx));
        ctx.executor().schedule(resumeTask, Math.max(1_000_000L, delay), TimeUnit.NANOSECONDS);
    }

    /** Lets waiting connections through as tokens allow; reading resumes once none waits (and no back-off). */
    private void resume() {
        resumeScheduled = false;
        ChannelHandlerContext c = ctx;
        if (c == null || !c.channel().isActive()) {
            return;
        }
        TokenBucket rate = controller.acceptBucket(); // null: the accept rate was switched off by a reload
        while (!waiting.isEmpty() && (rate == null || rate.tryTake(now(c)))) {
            Channel child = waiting.pollFirst();
            controller.waitingEnded();
            forward(c, child, null);
        }
        updateAutoRead(c);
        if (!waiting.isEmpty()) {
            scheduleResume(c);
        }
    }

    /**
     * An accept error (or any exception on this pipeline): counted, accepting pauses for the back-off, and it
     * goes no further (see the class comment). Connections already waiting still get their tokens meanwhile:
     * they are accepted already, and letting them through needs no accept().
     */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        controller.acceptFailed(cause);
        if (!backingOff) {
            backingOff = true;
            updateAutoRead(ctx);
            ctx.executor().schedule(backoffEndTask, ERROR_BACKOFF_NANOS, TimeUnit.NANOSECONDS);
        }
    }

    private void backoffEnded() {
        backingOff = false;
        ChannelHandlerContext c = ctx;
        if (c != null && c.channel().isActive()) {
            updateAutoRead(c);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        Channel child;
        while ((child = waiting.pollFirst()) != null) {
            controller.waitingEnded();
            child.unsafe().closeForcibly();
        }
        ctx.fireChannelInactive();
    }

    /** Connections waiting for the accept rate on this socket (tests). */
    int waiting() {
        return waiting.size();
    }

    private static long now(ChannelHandlerContext ctx) {
        return ctx.executor().ticker().nanoTime();
    }
}
