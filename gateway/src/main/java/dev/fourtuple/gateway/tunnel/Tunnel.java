package dev.fourtuple.gateway.tunnel;

import dev.fourtuple.gateway.connection.ClientConnection;
import dev.fourtuple.gateway.connection.ConnectionRegistry;
import dev.fourtuple.gateway.connection.Departure;
import dev.fourtuple.gateway.connection.Quiesce;
import dev.fourtuple.gateway.timeout.TimerWheel;
import dev.fourtuple.gateway.tls.TlsClose;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.DuplexChannel;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.concurrent.TimeUnit;

/**
 * A downstream and an upstream channel joined as a byte pipe. Holds what the pair shares: the idle deadline
 * (one wheel entry for both), the last-activity time, and the one-shot close.
 *
 * <p>An idle tunnel holds exactly this object, two {@link TunnelRelayHandler}s and the two channels: no
 * buffer (reads allocate per read and release after the write), no timer task.
 */
public final class Tunnel implements TimerWheel.Owner, ClientConnection {
    /** Time a closing tunnel gives each side to take what was left for it. */
    private static final long FLUSH_GRACE_NANOS = TimeUnit.SECONDS.toNanos(30);

    private final Channel downstream;
    private final Channel upstream;
    private final InetSocketAddress backend;
    private final TimerWheel wheel;
    private final TimerWheel.Entry entry;
    private final ConnectionRegistry registry;
    private final ConnectionRegistry.Registration registration;
    private final long idleTimeoutNanos;
    private final TunnelMeters meters;
    private final Runnable onClose;
    private long lastActivity;
    private boolean closed;
    /** Where the frames are in each direction (RFC 6455 §5.2): client to backend, backend to client. */
    private final FrameBoundaries towardsBackend = new FrameBoundaries();
    private final FrameBoundaries towardsClient = new FrameBoundaries();
    /**
     * The Close status a drain asked for (0: none), and which sides have had their Close: the gateway's, or
     * the other peer's own, relayed before the drain.
     */
    private int closeCode;
    private boolean closeSentToClient;
    private boolean closeSentToBackend;
    /** When a drain wants this tunnel closed (the wheel's clock; 0: no drain), and with which code. */
    private long drainAt;
    private int pendingDrainCode;
    /** On its way to a successor process: it relays nothing more and its deadlines are ignored. */
    private boolean departing;

    private Tunnel(Channel downstream, Channel upstream, InetSocketAddress backend, TimerWheel wheel,
            ConnectionRegistry registry, int configVersion, long idleTimeoutNanos, TunnelMeters meters,
            Runnable onClose) {
        this.downstream = downstream;
        this.upstream = upstream;
        this.backend = backend;
        this.wheel = wheel;
        this.idleTimeoutNanos = idleTimeoutNanos;
        this.meters = meters;
        this.onClose = onClose;
        this.entry = wheel.register(this);
        this.registry = registry;
        this.registration = registry.add(this, configVersion);
        this.lastActivity = wheel.now();
    }

    /**
     * Creates the tunnel, for tests that put its relays ({@link #downstreamRelay}, {@link #upstreamRelay}) in
     * pipelines of their own and then call {@link #start()}; the gateway uses {@link #upgrade}.
     *
     * @param backend          the backend address the upstream channel is connected to
     * @param registry         the loop's connections, which the tunnel joins (under {@code configVersion})
     * @param idleTimeoutNanos close after this long without a byte either way; 0 = never
     * @param onClose          runs once when the tunnel closes (e.g. to release the backend's count)
     */
    static Tunnel create(Channel downstream, Channel upstream, InetSocketAddress backend, TimerWheel wheel,
            ConnectionRegistry registry, int configVersion, long idleTimeoutNanos, TunnelMeters meters,
            Runnable onClose) {
        return new Tunnel(downstream, upstream, backend, wheel, registry, configVersion, idleTimeoutNanos, meters,
                onClose);
    }

    @Override
    public List<Channel> channels() {
        return List.of(downstream, upstream);
    }

    /** The backend this tunnel leads to. */
    public InetSocketAddress backend() {
        return backend;
    }

    /**
     * Turns an upgraded client connection and its backend connection into a tunnel (after the backend's 101
     * was written to the client). Order matters: both encoders go first (so nothing more is HTTP-encoded), then
     * on each side the relay takes the HTTP handler's place and the decoder goes, handing the relay any bytes it
     * held (frames the client sent before the 101, the backend's first frames after it): nothing is dropped.
     * Then both sides read.
     *
     * @param backend the backend address the upstream side is connected to
     * @param onClose runs once when the tunnel closes (e.g. to release the backend's count)
     */
    public static Tunnel upgrade(UpgradingSide client, UpgradingSide server, InetSocketAddress backend,
            TimerWheel wheel, ConnectionRegistry registry, int configVersion, long idleTimeoutNanos,
            TunnelMeters meters, Runnable onClose) {
        client.removeEncoder();
        server.removeEncoder();
        Tunnel tunnel = new Tunnel(client.channel(), server.channel(), backend, wheel, registry, configVersion,
                idleTimeoutNanos, meters, onClose);
        server.becomeRelay(TunnelRelayHandler.NAME, tunnel.upstreamRelay());
        client.becomeRelay(TunnelRelayHandler.NAME, tunnel.downstreamRelay());
        tunnel.start();
        return tunnel;
    }

    /** The relay for the downstream pipeline: relays client bytes to the backend. */
    TunnelRelayHandler downstreamRelay() {
        return new TunnelRelayHandler(this, upstream);
    }

    /** The relay for the upstream pipeline: relays backend bytes to the client. */
    TunnelRelayHandler upstreamRelay() {
        return new TunnelRelayHandler(this, downstream);
    }

    /** Both relays are in place: start the idle clock and read both sides. */
    void start() {
        meters.opened();
        run();
    }

    private void run() {
        if (idleTimeoutNanos > 0) {
            wheel.scheduleAfter(entry, idleTimeoutNanos);
        }
        readUnlessEnded(downstream);
        readUnlessEnded(upstream);
        if (!downstream.isActive() || !upstream.isActive()) {
            close();
        }
    }

    /**
     * Asks for the next read, unless the channel's input has ended (its FIN was read): there is nothing more to
     * read, and Netty 4.2's epoll transport has dropped such a socket from its interest set, so a read()
     * fails with ENOENT from epoll_ctl and closes the channel, taking the other direction's bytes with it.
     */
    static void readUnlessEnded(Channel channel) {
        if (!(channel instanceof DuplexChannel duplex) || !duplex.isInputShutdown()) {
            channel.read();
        }
    }

    /**
     * Relays bytes towards {@code peer}, following its frames; once the gateway sent its own Close that way,
     * nothing more is relayed that way (RFC 6455 §5.5.1: no data frame after a Close). While a Close waits for
     * this direction's next boundary, the bytes are relayed up to that boundary only, wherever it falls in
     * them: a peer that streams without a pause may never end a read at a frame's end.
     */
    void relay(Channel peer, ByteBuf bytes) {
        boolean toClient = peer == downstream;
        if (closed || (toClient ? closeSentToClient : closeSentToBackend)) {
            bytes.release();
            return;
        }
        FrameBoundaries frames = toClient ? towardsClient : towardsBackend;
        if (closeCode == 0) {
            frames.scan(bytes);
            peer.write(bytes, peer.voidPromise());
            return;
        }
        int boundary = frames.scanToBoundary(bytes);
        if (boundary < bytes.writerIndex()) {
            // what follows the boundary would come after the Close: dropped
            bytes.writerIndex(boundary);
        }
        peer.write(bytes, peer.voidPromise());
        closeAtBoundaries();
    }

    /**
     * Ends the tunnel the way a WebSocket ends (RFC 6455 §7.1.2): a Close with {@code code} to each side, each
     * at the next frame boundary of its direction, then both connections close once written. A direction
     * whose frames cannot be followed is closed without one.
     */
    public void closeGracefully(int code) {
        if (closed) {
            return;
        }
        closeCode = code;
        closeAtBoundaries();
    }

    @Override
    public boolean uses(Set<InetSocketAddress> backends) {
        return backends.contains(backend);
    }

    @Override
    public void cutForRemovedBackend() {
        close();
    }

    /** A drain: {@link #closeGracefully} at {@code atNanos} on the wheel's clock (the tunnel's own wheel entry). */
    @Override
    public void drain(long atNanos, int code) {
        if (closed || code == 0) {
            return;
        }
        drainAt = atNanos == 0 ? 1 : atNanos;
        pendingDrainCode = code;
        wheel.schedule(entry, drainAt);
    }

    /**
     * Sends each side its Close at the first boundary of its direction, unless the other peer's own Close has
     * gone that way already (a closing handshake under way when the drain came): one Close per direction,
     * none after it (RFC 6455 §5.5.1).
     */
    private void closeAtBoundaries() {
        if (!closeSentToClient && towardsClient.atBoundary()) {
            closeSentToClient = true;
            if (!towardsClient.closePassed()) {
                downstream.writeAndFlush(CloseFrames.toClient(downstream.alloc(), closeCode), downstream.voidPromise());
            }
        }
        if (!closeSentToBackend && towardsBackend.atBoundary()) {
            closeSentToBackend = true;
            if (!towardsBackend.closePassed()) {
                upstream.writeAndFlush(CloseFrames.toBackend(upstream.alloc(), closeCode), upstream.voidPromise());
            }
        }
        if ((closeSentToClient || towardsClient.broken()) && (closeSentToBackend || towardsBackend.broken())) {
            close(); // flushes what each side has, then closes it
        }
    }

    /**
     * Moves to a successor when nothing is in flight here: plaintext on both sides (a TLS engine's state cannot
     * leave this process), not closing or draining, neither side half-closed, nothing unwritten.
     */
    @Override
    public boolean depart(Consumer<Departure> ready) {
        if (closed || departing || closeCode != 0 || drainAt != 0
                || !(downstream.pipeline().first() instanceof TunnelRelayHandler) // a TLS handler would be first
                || !(upstream.pipeline().first() instanceof TunnelRelayHandler)
                || !Quiesce.canMove(downstream) || !Quiesce.canMove(upstream)) {
            return false;
        }
        departing = true;
        long idleFor = wheel.now() - lastActivity;
        Quiesce.hold(channels(), held -> {
            if (held == null) { // a side reset or closed meanwhile: the tunnel is over, here
                left(false);
                return;
            }
            TunnelState state = new TunnelState(backend.getAddress().getAddress(), backend.getPort(), idleFor,
                    towardsBackend.position(), towardsClient.position(), held.get(0), held.get(1));
            ready.accept(new Leaving(state));
        });
        return true;
    }

    /** The tunnel is no longer this process's: its sockets close here (the successor's copies live on). */
    private void left(boolean moved) {
        closed = true;
        wheel.unregister(entry);
        registry.remove(registration);
        if (moved) {
            meters.movedOut();
        } else {
            meters.closed();
        }
        onClose.run();
        downstream.close();
        upstream.close();
    }

    /** A tunnel on its way out. */
    private final class Leaving implements Departure {
        private final TunnelState state;

        Leaving(TunnelState state) {
            this.state = state;
        }

        @Override
        public String kind() {
            return TunnelState.KIND;
        }

        @Override
        public List<Channel> channels() {
            return Tunnel.this.channels();
        }

        @Override
        public Object state() {
            return state;
        }

        @Override
        public void arrived() {
            downstream.eventLoop().execute(() -> left(true));
        }

        @Override
        public void lost() {
            downstream.eventLoop().execute(() -> left(false));
        }
    }

    /**
     * Resumes a tunnel a predecessor process passed on, on two channels made from its sockets and registered
     * on {@code wheel}'s loop: relays in place, the frame trackers and the idle clock where they were, what the
     * predecessor held relayed first, then both sides read.
     */
    public static Tunnel resume(Channel downstream, Channel upstream, TunnelState state, InetSocketAddress backend,
            TimerWheel wheel, ConnectionRegistry registry, int configVersion, long idleTimeoutNanos,
            TunnelMeters meters, Runnable onClose) {
        Tunnel tunnel = new Tunnel(downstream, upstream, backend, wheel, registry, configVersion, idleTimeoutNanos,
                meters, onClose);
        tunnel.towardsBackend.resumeAt(state.towardsBackend());
        tunnel.towardsClient.resumeAt(state.towardsClient());
        tunnel.lastActivity = wheel.now() - Math.max(0, state.idleForNanos());
        downstream.pipeline().addLast(TunnelRelayHandler.NAME, tunnel.downstreamRelay());
        upstream.pipeline().addLast(TunnelRelayHandler.NAME, tunnel.upstreamRelay());
        meters.movedIn();
        // Read by the predecessor after it stopped relaying: relayed (and followed) here, first.
        if (state.fromClient().length > 0) {
            tunnel.relay(upstream, Unpooled.wrappedBuffer(state.fromClient()));
        }
        if (state.fromBackend().length > 0) {
            tunnel.relay(downstream, Unpooled.wrappedBuffer(state.fromBackend()));
        }
        downstream.flush();
        upstream.flush();
        tunnel.run();
        return tunnel;
    }

    void touch() {
        lastActivity = wheel.now();
    }

    @Override
    public void onDeadline(long nowNanos) {
        if (departing) {
            return; // its deadlines go with it
        }
        if (closed) {
            // Closing, but a side has not taken what was left for it (a peer that stopped reading): it had
            // its time. A reset: nothing more will be read from or written to either.
            forceClose(downstream);
            forceClose(upstream);
            wheel.unregister(entry);
            registry.remove(registration);
            return;
        }
        if (drainAt != 0 && nowNanos - drainAt >= 0) {
            if (closeCode == 0) {
                closeGracefully(pendingDrainCode);
                drainAt = nowNanos + FLUSH_GRACE_NANOS; // a frame that never ends is cut then
                if (!closed) {
                    wheel.schedule(entry, drainAt);
                }
            } else {
                close();
            }
            return;
        }
        if (idleTimeoutNanos <= 0) {
            return;
        }
        long idleFor = nowNanos - lastActivity;
        if (idleFor >= idleTimeoutNanos) {
            meters.idleClosed();
            resetUpstreamIfAcknowledged(); // idle: nothing in flight towards the client; towards the backend, see
            close();
        } else {
            long idleAt = lastActivity + idleTimeoutNanos;
            wheel.schedule(entry, drainAt != 0 && drainAt - idleAt < 0 ? drainAt : idleAt);
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

    /** One channel closed; once both have, the tunnel is gone and leaves the wheel. */
    void sideInactive() {
        sideGone();
        leaveWheelIfBothClosed();
    }

    private void leaveWheelIfBothClosed() {
        if (!downstream.isActive() && !upstream.isActive()) {
            wheel.unregister(entry);
            registry.remove(registration);
        }
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

    /**
     * Closes both sides once, after flushing what each still has to write; a side that does not take it within
     * {@link #FLUSH_GRACE_NANOS} is reset (the wheel entry stays for that, no timer of its own). After a drain's
     * Close, each side lingers instead ({@link #lingerThenClose}).
     */
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        wheel.schedule(entry, wheel.now() + FLUSH_GRACE_NANOS);
        meters.closed();
        onClose.run();
        closeAfterFlush(downstream);
        closeAfterFlush(upstream);
        leaveWheelIfBothClosed(); // both gone already (a side left while the 101 was relayed)
    }

    private static void forceClose(Channel channel) {
        if (channel.isActive()) {
            channel.config().setOption(ChannelOption.SO_LINGER, 0);
        }
        channel.close();
    }

    /** True once {@link #close()} ran: nothing more is relayed, each side is flushed and closed. */
    boolean closed() {
        return closed;
    }

    /**
     * A side's input ended while the tunnel closes: once its output is shut too (it lingered), it closes now;
     * otherwise the close after the flush is on its way.
     */
    void inputEndedWhileClosed(Channel channel) {
        if (channel instanceof DuplexChannel duplex && duplex.isOutputShutdown()) {
            channel.close();
        }
    }

    private void closeAfterFlush(Channel channel) {
        if (!channel.isActive()) {
            channel.close();
        } else if (closeCode != 0 && channel instanceof DuplexChannel duplex) {
            channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(written -> lingerThenClose(duplex));
        } else {
            channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /**
     * After a drain's Close: a close() while the peer's bytes wait unread (a client still sending, its own
     * Close answering ours) sends a reset (RFC 1122 §4.2.2.13), which drops what the kernel had not sent yet
     * and what the peer had not read yet, the Close among it. RFC 6455 §7.1.1 wants the server to close the
     * TCP connection first, cleanly. So: FIN after everything written (after close_notify on TLS), then read
     * and discard until the peer's FIN ({@link #inputEndedWhileClosed}), or its reset, or
     * {@link #FLUSH_GRACE_NANOS}.
     */
    private static void lingerThenClose(DuplexChannel channel) {
        if (!channel.isActive() || channel.isInputShutdown()) {
            channel.close();
            return;
        }
        TlsClose.shutdownOutput(channel).addListener(shut -> {
            if (!shut.isSuccess() || channel.isInputShutdown()) {
                channel.close();
            } else {
                readUnlessEnded(channel); // the relay reads on while closed, whatever the peer's writability
            }
        });
    }
}
