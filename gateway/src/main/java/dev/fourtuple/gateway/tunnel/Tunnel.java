package dev.fourtuple.gateway.tunnel;

import dev.fourtuple.gateway.timeout.TimerWheel;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOption;
import java.net.InetSocketAddress;

/**
 * A downstream and an upstream channel joined as a byte pipe. Holds what the pair shares: the idle deadline
 * (one wheel entry for both), the last-activity time, and the one-shot close.
 *
 * <p>An idle tunnel holds exactly this object, two {@link TunnelRelayHandler}s and the two channels: no
 * buffer (reads allocate per read and release after the write), no timer task.
 */
public final class Tunnel implements TimerWheel.Owner {
    private final Channel downstream;
    private final Channel upstream;
    private final InetSocketAddress backend;
    private final TimerWheel wheel;
    private final TimerWheel.Entry entry;
    private final long idleTimeoutNanos;
    private final TunnelMeters meters;
    private final Runnable onClose;
    private long lastActivity;
    private boolean closed;

    private Tunnel(Channel downstream, Channel upstream, InetSocketAddress backend, TimerWheel wheel,
            long idleTimeoutNanos, TunnelMeters meters, Runnable onClose) {
        this.downstream = downstream;
        this.upstream = upstream;
        this.backend = backend;
        this.wheel = wheel;
        this.idleTimeoutNanos = idleTimeoutNanos;
        this.meters = meters;
        this.onClose = onClose;
        this.entry = wheel.register(this);
        this.lastActivity = wheel.now();
    }

    /**
     * Creates the tunnel and its two relays. The caller puts each relay into its channel's pipeline (where
     * the HTTP handler was), then removes the HTTP codecs, then calls {@link #start()}.
     *
     * @param backend          the backend address the upstream channel is connected to
     * @param idleTimeoutNanos close after this long without a byte either way; 0 = never
     * @param onClose          runs once when the tunnel closes (e.g. to release the backend's count)
     */
    public static Tunnel create(Channel downstream, Channel upstream, InetSocketAddress backend, TimerWheel wheel,
            long idleTimeoutNanos, TunnelMeters meters, Runnable onClose) {
        return new Tunnel(downstream, upstream, backend, wheel, idleTimeoutNanos, meters, onClose);
    }

    /** The backend this tunnel leads to. */
    public InetSocketAddress backend() {
        return backend;
    }

    /** The relay for the downstream pipeline: relays client bytes to the backend. */
    public TunnelRelayHandler downstreamRelay() {
        return new TunnelRelayHandler(this, upstream);
    }

    /** The relay for the upstream pipeline: relays backend bytes to the client. */
    public TunnelRelayHandler upstreamRelay() {
        return new TunnelRelayHandler(this, downstream);
    }

    /** Both relays are in place: start the idle clock and read both sides. */
    public void start() {
        meters.opened();
        if (idleTimeoutNanos > 0) {
            wheel.scheduleAfter(entry, idleTimeoutNanos);
        }
        downstream.read();
        upstream.read();
        if (!downstream.isActive() || !upstream.isActive()) {
            close();
        }
    }

    void touch() {
        lastActivity = wheel.now();
    }

    @Override
    public void onDeadline(long nowNanos) {
        long idleFor = nowNanos - lastActivity;
        if (idleFor >= idleTimeoutNanos) {
            meters.idleClosed();
            resetUpstreamIfAcknowledged(); // idle: nothing in flight towards the client; towards the backend, see
            close();
        } else {
            wheel.schedule(entry, lastActivity + idleTimeoutNanos);
        }
    }

    /**
     * One side reset or closed under us: nothing more can travel that way. The other side is closed too, the
     * upstream with a reset when that loses nothing.
     */
    void sideGone() {
        if (!closed) {
            resetUpstreamIfAcknowledged();
        }
        close();
    }

    /**
     * Makes the upstream close a reset (SO_LINGER 0), so that no TIME_WAIT stays on its scarce {source,
     * backend} tuple, when the kernel says everything relayed to the backend was acknowledged (TCP_INFO
     * tcpi_unacked == 0) and nothing waits to be written: then nothing can be in flight towards it. Otherwise
     * (or on NIO, which cannot tell) it closes with a FIN so that what is in flight arrives.
     */
    private void resetUpstreamIfAcknowledged() {
        if (upstream.isActive() && upstream.unsafe().outboundBuffer() != null
                && upstream.unsafe().outboundBuffer().isEmpty() && Acknowledged.all(upstream)) {
            upstream.config().setOption(ChannelOption.SO_LINGER, 0);
        }
    }

    /** Closes both sides once, after flushing what each still has to write. */
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        wheel.unregister(entry);
        meters.closed();
        onClose.run();
        closeAfterFlush(downstream);
        closeAfterFlush(upstream);
    }

    private static void closeAfterFlush(Channel channel) {
        if (channel.isActive()) {
            channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        } else {
            channel.close();
        }
    }
}
