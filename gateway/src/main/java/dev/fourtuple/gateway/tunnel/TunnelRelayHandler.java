package dev.fourtuple.gateway.tunnel;

import dev.fourtuple.gateway.tls.TlsClose;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The only handler of a tunnelled channel: {@code [tunnel: TunnelRelayHandler]}. Relays what its channel reads
 * to the peer channel, with backpressure: AUTO_READ is off, and the next read is asked for only when the peer
 * can take more (right after the flush if the peer is still writable, else when the peer turns writable,
 * which the peer's own relay reports by calling {@code read()} on this channel).
 *
 * <p>Half-close is passed on (RFC 9293 §3.6): when this side's input ends, the peer's output is shut after the
 * flush (after a TLS close_notify on a TLS peer: {@link TlsClose}), and everything the peer still sends this
 * way is relayed; when both directions have ended, the tunnel
 * closes. A FIN is always relayed as a FIN, never turned into a reset: the side that half-closed may still be
 * reading (RFC 9293 §3.6.1), and a reset would drop whatever is in flight towards it.
 *
 * <p>Only when a side is gone for good (reset, or closed under us) is the upstream connection reset rather
 * than closed with a FIN, and then only if TCP_INFO says everything relayed to the backend was acknowledged:
 * nothing can be in flight either way, and the scarce {source, backend} port is spared the minute of
 * TIME_WAIT that whoever sends the first FIN keeps (see {@link Tunnel#close()}).
 */
public final class TunnelRelayHandler extends ChannelInboundHandlerAdapter {
    /** Pipeline name. */
    static final String NAME = "tunnel";
    private static final Logger log = LoggerFactory.getLogger(TunnelRelayHandler.class);

    private final Tunnel tunnel;
    private final Channel peer;

    TunnelRelayHandler(Tunnel tunnel, Channel peer) {
        this.tunnel = tunnel;
        this.peer = peer;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf buf) {
            tunnel.touch();
            tunnel.relay(peer, buf);
        } else {
            // An empty last-content marker left by the HTTP decoder that was just removed.
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        peer.flush();
        if (peer.isWritable() || tunnel.closed()) { // closed: what is read is dropped, the peer's FIN awaited
            Tunnel.readUnlessEnded(ctx.channel());
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            Tunnel.readUnlessEnded(peer); // the peer stopped reading because we were full; we have drained
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            if (tunnel.closed()) {
                tunnel.inputEndedWhileClosed(ctx.channel());
            } else if (peer instanceof DuplexChannel duplex && !duplex.isInputShutdown() && peer.isActive()) {
                // Act only once what we relayed has been written: shutdownOutput() fails writes still in
                // flight, and with io_uring a flushed write is in flight until it completes.
                // On a TLS client connection, close_notify goes first (RFC 8446 §6.1).
                peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(written -> TlsClose.shutdownOutput(duplex));
            } else {
                tunnel.close(); // both directions have ended
            }
        }
        ReferenceCountUtil.release(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        tunnel.sideInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!(cause instanceof IOException) && !TlsClose.isPeerFailure(cause)) {
            log.warn("tunnel {} closed on unexpected error", ctx.channel(), cause);
        }
        tunnel.sideGone();
    }
}
