package dev.fourtuple.gateway.inbound;

import dev.fourtuple.gateway.admission.AdmissionController;
import dev.fourtuple.gateway.config.ProxyProtocolSettings;
import dev.fourtuple.gateway.connection.ClientAddress;
import dev.fourtuple.gateway.metrics.Problem;
import dev.fourtuple.gateway.metrics.ProblemLog;
import dev.fourtuple.gateway.timeout.TimerWheel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolException;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.function.Consumer;
import io.netty.channel.Channel;
import org.jspecify.annotations.Nullable;

/**
 * The start of a connection on a PROXY protocol listener (HAProxy's doc/proxy-protocol.txt), in front of the
 * listener's usual pipeline: {@code [proxy-protocol-decoder: HAProxyMessageDecoder] → [proxy-protocol:
 * ProxyProtocolHandler] → [tls …] → [encoder] → [decoder] → [proxy]}.
 *
 * <p>§2: "the receiver MUST NOT start processing the connection before it receives a complete and valid PROXY
 * protocol header". So this handler holds {@code channelActive} back from the handlers behind it (no HTTP
 * timer, no registry entry, no TLS handshake) until the header is in, records the header's addresses as the
 * connection's {@link ClientAddress}, runs the per-client admission limits for that address, then lets the
 * connection start and leaves the pipeline; the decoder leaves with it and hands on the bytes that followed
 * the header (a request, a TLS ClientHello). An idle connection afterwards holds nothing of the PROXY protocol.
 *
 * <p>Anything else is closed without a byte of HTTP: the peer is a balancer relaying a client's TCP stream or
 * probing health, not a browser; a 400 or 408 would reach it inside a protocol it does not expect (or a TLS
 * client as garbage), and §2 lets the receiver simply abort. Counted and logged, rate-limited, by cause.
 * The header's deadline is an entry in the loop's shared {@link TimerWheel}, unregistered when it is in.
 */
final class ProxyProtocolHandler extends ChannelInboundHandlerAdapter implements TimerWheel.Owner {
    static final String DECODER_NAME = "proxy-protocol-decoder";
    static final String NAME = "proxy-protocol";
    /**
     * TLVs accepted per v2 header at most (§2.2: a header is at most 16 + 65535 bytes): room for what
     * balancers send (AWS's VPC endpoint id, HAProxy's unique id and SSL TLVs) while a peer that claims more
     * is cut off before it makes the gateway buffer it.
     */
    static final int MAX_TLV_BYTES = 4096;

    private final ProxyProtocolSettings settings;
    private final TimerWheel wheel;
    private final ProblemLog problems;
    private final AdmissionController admission;
    private final Consumer<Channel> refuse;
    private @Nullable ChannelHandlerContext ctx;
    private TimerWheel.@Nullable Entry deadline;
    private boolean done;

    /**
     * @param refuse replaces the listener's pipeline behind this handler when the per-client limits refuse
     *               the header's client (a 503 on plaintext, a close on TLS, as at accept)
     */
    ProxyProtocolHandler(ProxyProtocolSettings settings, TimerWheel wheel, ProblemLog problems,
            AdmissionController admission, Consumer<Channel> refuse) {
        this.settings = settings;
        this.wheel = wheel;
        this.problems = problems;
        this.admission = admission;
        this.refuse = refuse;
    }

    /** The decoder that goes in front of this handler. */
    static HAProxyMessageDecoder newDecoder() {
        return new HAProxyMessageDecoder(MAX_TLV_BYTES);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        // §2: "the receiver may apply a short timeout and decide to abort the connection if the protocol
        // header is not seen within a few seconds". Not passed on: the connection has not started yet.
        TimerWheel.Entry entry = wheel.register(this);
        deadline = entry;
        wheel.scheduleAfter(entry, settings.timeout().toNanos());
        ctx.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (done || !(msg instanceof HAProxyMessage header)) {
            // Nothing but the header reaches this handler before it is done (the decoder holds the rest).
            ReferenceCountUtil.release(msg);
            return;
        }
        try {
            accept(ctx, header);
        } finally {
            header.release();
        }
    }

    private void accept(ChannelHandlerContext ctx, HAProxyMessage header) {
        String refusal = ProxyProtocolHeaders.refusal(header, settings.mode());
        if (refusal != null) {
            fail(ctx, Problem.PROXY_BAD_HEADER, refusal);
            return;
        }
        InetSocketAddress[] addresses = ProxyProtocolHeaders.addresses(header);
        if (addresses != null) {
            ClientAddress.proxied(ctx.channel(), addresses[0], addresses[1]);
        }
        done = true;
        stopTimer();
        if (admission.admitClient(ctx.channel(), ctx.executor().ticker().nanoTime()) != null) {
            refuse.accept(ctx.channel());
            if (!ctx.channel().isOpen()) {
                return;
            }
        }
        ctx.fireChannelActive(); // the connection starts now, behind this handler
        ctx.pipeline().remove(this); // the decoder removes itself as this returns and passes on what followed
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (!done && ctx.channel().isActive()) {
            ctx.read(); // AUTO_READ is off: the rest of the header
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (done) {
            ctx.fireExceptionCaught(cause);
            return;
        }
        if (cause instanceof HAProxyProtocolException) {
            // The decoder closed the connection already ("drop connection immediately per spec").
            fail(ctx, Problem.PROXY_BAD_HEADER, String.valueOf(cause.getMessage()));
        } else {
            ctx.close(); // a reset or other I/O error before the header: nothing to report
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        stopTimer();
        ctx.fireChannelInactive();
    }

    @Override
    public void onDeadline(long nowNanos) {
        ChannelHandlerContext c = ctx;
        if (c != null && !done) {
            fail(c, Problem.PROXY_TIMEOUT, settings.timeout().toMillis() + " ms");
        }
    }

    private void fail(ChannelHandlerContext ctx, Problem problem, String detail) {
        done = true;
        stopTimer();
        problems.report(problem, ctx.channel().remoteAddress() + ": " + detail);
        if (ctx.channel().isActive()) {
            // A reset: the peer sent something we will not read, and a FIN would leave TIME_WAIT here.
            ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
        }
        ctx.close();
    }

    private void stopTimer() {
        TimerWheel.Entry entry = deadline;
        if (entry != null) {
            deadline = null;
            wheel.unregister(entry);
        }
    }
}
