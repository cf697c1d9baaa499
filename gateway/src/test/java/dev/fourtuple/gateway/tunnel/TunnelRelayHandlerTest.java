package dev.fourtuple.gateway.tunnel;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fourtuple.gateway.connection.ConnectionRegistry;
import dev.fourtuple.gateway.timeout.TimerWheel;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A tunnel between two {@link EmbeddedChannel}s: bytes written inbound on one come out outbound on the other.
 * The idle clock is the downstream loop's (frozen; moved by the test), like the gateway, which uses the
 * wheel of the client connection's loop.
 */
class TunnelRelayHandlerTest {
    private static final java.net.InetSocketAddress BACKEND = new java.net.InetSocketAddress("127.0.0.1", 9001);
    private static final Duration IDLE = Duration.ofSeconds(30);

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final TunnelMeters meters = new TunnelMeters(registry);
    private final AtomicInteger onCloseRuns = new AtomicInteger();
    private EmbeddedChannel down;
    private EmbeddedChannel up;
    private TimerWheel wheel;
    private Tunnel tunnel;
    private long elapsedMs;

    @BeforeEach
    void openTunnel() {
        down = new EmbeddedChannel();
        up = new EmbeddedChannel();
        down.freezeTime();
        wheel = TimerWheel.start(down.eventLoop());
        tunnel = Tunnel.create(down, up, BACKEND, wheel, new ConnectionRegistry(wheel.loop()), 1, IDLE.toNanos(), meters, onCloseRuns::incrementAndGet);
        down.pipeline().addLast(TunnelRelayHandler.NAME, tunnel.downstreamRelay());
        up.pipeline().addLast(TunnelRelayHandler.NAME, tunnel.upstreamRelay());
        tunnel.start();
    }

    @AfterEach
    void closeAll() {
        wheel.stop();
        down.finishAndReleaseAll();
        up.finishAndReleaseAll();
    }

    private static ByteBuf bytes(String text) {
        return Unpooled.copiedBuffer(text, US_ASCII);
    }

    /** Everything the channel wrote out, as text; every buffer released. */
    private static String written(EmbeddedChannel channel) {
        StringBuilder text = new StringBuilder();
        Object msg;
        while ((msg = channel.readOutbound()) != null) {
            ByteBuf buf = (ByteBuf) msg;
            try {
                text.append(buf.toString(US_ASCII));
            } finally {
                buf.release();
            }
        }
        return text.toString();
    }

    /** Everything the channel wrote out, as bytes; every buffer released. */
    private static byte[] writtenBytes(EmbeddedChannel channel) {
        ByteBuf all = Unpooled.buffer();
        Object msg;
        while ((msg = channel.readOutbound()) != null) {
            ByteBuf buf = (ByteBuf) msg;
            all.writeBytes(buf);
            buf.release();
        }
        byte[] bytes = ByteBufUtil.getBytes(all);
        all.release();
        return bytes;
    }

    private void advanceTo(long toMs) {
        while (elapsedMs < toMs) {
            long step = Math.min(100 - elapsedMs % 100, toMs - elapsedMs);
            down.advanceTimeBy(step, TimeUnit.MILLISECONDS);
            elapsedMs += step;
            down.runScheduledPendingTasks();
        }
    }

    private void assertBothClosed() {
        down.runPendingTasks();
        up.runPendingTasks();
        assertThat(down.isOpen()).as("downstream closed").isFalse();
        assertThat(up.isOpen()).as("upstream closed").isFalse();
        assertThat(meters.active()).isZero();
        assertThat(onCloseRuns).as("onClose runs exactly once").hasValue(1);
        assertThat(wheel.size()).as("the tunnel's wheel entry is unregistered").isZero();
        written(down); // the empty flush each side gets before it closes
        written(up);
        assertThat(down.finishAndReleaseAll()).isFalse();
        assertThat(up.finishAndReleaseAll()).isFalse();
    }

    @Test
    void startCountsTheTunnelAndRegistersOneWheelEntry() {
        assertThat(meters.active()).isEqualTo(1);
        assertThat(registry.get("fourtuple.tunnels.opened").counter().count()).isEqualTo(1);
        assertThat(wheel.size()).isEqualTo(1);
        assertThat(down.pipeline().get(TunnelRelayHandler.NAME)).isInstanceOf(TunnelRelayHandler.class);
        assertThat(up.pipeline().get(TunnelRelayHandler.NAME)).isInstanceOf(TunnelRelayHandler.class);
    }

    @Test
    void clientBytesReachTheBackendUnchanged() {
        // A masked WebSocket text frame: every byte value may appear, none is interpreted.
        byte[] frame = {(byte) 0x81, (byte) 0x85, 0x37, (byte) 0xfa, 0x21, 0x3d, 0x7f, (byte) 0x9f, 0x4d, 0x51, 0x00};
        ByteBuf sent = Unpooled.wrappedBuffer(frame);

        down.writeInbound(sent);

        Object relayed = up.readOutbound();
        assertThat(relayed).as("the same buffer, not a copy").isSameAs(sent);
        assertThat(ByteBufUtil.getBytes((ByteBuf) relayed)).containsExactly(frame);
        ((ByteBuf) relayed).release();
        assertThat(written(up)).isEmpty();
        assertThat(written(down)).as("nothing echoed back").isEmpty();
        assertThat(down.isOpen()).isTrue();
        assertThat(up.isOpen()).isTrue();
    }

    @Test
    void backendBytesReachTheClientUnchangedAndInOrder() {
        up.writeInbound(bytes("one,"), bytes("two,"));
        up.writeInbound(bytes("three"));

        assertThat(written(down)).isEqualTo("one,two,three");
        assertThat(written(up)).isEmpty();
    }

    @Test
    void bothDirectionsAtOnce() {
        down.writeInbound(bytes("ping"));
        up.writeInbound(bytes("pong"));

        assertThat(written(up)).isEqualTo("ping");
        assertThat(written(down)).isEqualTo("pong");
    }

    @Test
    void leftoverHttpMarkerFromTheRemovedDecoderIsDroppedNotRelayed() {
        down.writeInbound(LastHttpContent.EMPTY_LAST_CONTENT);

        assertThat(written(up)).isEmpty();
        assertThat(up.isOpen()).isTrue();
    }

    @Test
    void clientClosingClosesTheBackendSide() {
        down.close();

        assertBothClosed();
        assertThat(registry.get("fourtuple.tunnels.idle.closed").counter().count()).isZero();
    }

    @Test
    void backendClosingClosesTheClientSide() {
        up.close();

        assertBothClosed();
    }

    @Test
    void bytesInFlightAreDeliveredBeforeThePeerCloses() {
        up.writeInbound(bytes("last words"));
        up.close();

        down.runPendingTasks();
        assertThat(written(down)).isEqualTo("last words");
        assertBothClosed();
    }

    @Test
    void inputShutdownOnASideThatCannotHalfCloseClosesTheTunnel() {
        // EmbeddedChannel is no DuplexChannel: the output of the peer cannot be shut on its own.
        down.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);

        assertBothClosed();
    }

    @Test
    void exceptionOnEitherSideClosesTheTunnel() {
        up.pipeline().fireExceptionCaught(new IOException("Connection reset by peer"));

        assertBothClosed();
    }

    @Test
    void idleTunnelClosesBothSidesAfterTheIdleTimeout() {
        advanceTo(IDLE.toMillis() - 100);
        assertThat(down.isOpen()).isTrue();
        assertThat(up.isOpen()).isTrue();
        assertThat(meters.active()).isEqualTo(1);

        advanceTo(IDLE.toMillis());

        assertBothClosed();
        assertThat(registry.get("fourtuple.tunnels.idle.closed").counter().count()).isEqualTo(1);
    }

    @Test
    void trafficEitherWayPostponesTheIdleTimeout() {
        advanceTo(20_000);
        down.writeInbound(bytes("client speaks"));
        assertThat(written(up)).isEqualTo("client speaks");

        advanceTo(IDLE.toMillis() + 5_000);
        assertThat(down.isOpen()).as("30 s after the start, but only 15 s after the last byte").isTrue();

        advanceTo(40_000);
        up.writeInbound(bytes("backend speaks"));
        assertThat(written(down)).isEqualTo("backend speaks");

        advanceTo(40_000 + IDLE.toMillis() - 100);
        assertThat(down.isOpen()).isTrue();
        assertThat(up.isOpen()).isTrue();

        advanceTo(40_000 + IDLE.toMillis());
        assertBothClosed();
        assertThat(registry.get("fourtuple.tunnels.idle.closed").counter().count()).isEqualTo(1);
    }

    @Test
    void zeroIdleTimeoutNeverClosesTheTunnel() {
        EmbeddedChannel otherDown = new EmbeddedChannel();
        EmbeddedChannel otherUp = new EmbeddedChannel();
        otherDown.freezeTime();
        TimerWheel otherWheel = TimerWheel.start(otherDown.eventLoop());
        Tunnel forever = Tunnel.create(otherDown, otherUp, BACKEND, otherWheel, new ConnectionRegistry(otherWheel.loop()), 1, 0, meters, () -> { });
        otherDown.pipeline().addLast(TunnelRelayHandler.NAME, forever.downstreamRelay());
        otherUp.pipeline().addLast(TunnelRelayHandler.NAME, forever.upstreamRelay());
        forever.start();

        for (int i = 0; i < 100; i++) {
            otherDown.advanceTimeBy(10, TimeUnit.MINUTES);
            otherDown.runScheduledPendingTasks();
        }

        assertThat(otherDown.isOpen()).isTrue();
        assertThat(otherUp.isOpen()).isTrue();
        otherWheel.stop();
        otherDown.close();
        otherDown.runPendingTasks();
        otherUp.runPendingTasks();
        assertThat(otherUp.isOpen()).isFalse();
        written(otherDown);
        written(otherUp);
        assertThat(otherDown.finishAndReleaseAll()).isFalse();
        assertThat(otherUp.finishAndReleaseAll()).isFalse();
    }

    @Test
    void aGracefulCloseGoesAtTheFirstBoundaryEvenInsideARead() {
        // The client is inside a frame from the backend (2 of its 4 payload bytes): its Close has to wait, the
        // backend's goes at once.
        up.writeInbound(Unpooled.wrappedBuffer(new byte[] {(byte) 0x82, 4, 1, 2}));
        assertThat(writtenBytes(down)).containsExactly(0x82, 4, 1, 2);
        tunnel.closeGracefully(CloseFrames.GOING_AWAY);
        assertThat(writtenBytes(up)).hasSize(8).startsWith(0x88, 0x82);

        // A backend that streams on: the frame's end and the next frame's start come in one read. The end
        // goes, the Close after it, and nothing of the next frame (RFC 6455 §5.5.1).
        up.writeInbound(Unpooled.wrappedBuffer(new byte[] {3, 4, (byte) 0x82, 4, 5, 6}));

        assertThat(writtenBytes(down)).containsExactly(3, 4, 0x88, 2, 0x03, 0xE9);
        assertBothClosed();
    }

    @Test
    void aGracefulCloseAddsNoCloseWhereThePeersOwnCloseWentAlready() {
        up.writeInbound(Unpooled.wrappedBuffer(new byte[] {(byte) 0x88, 2, 0x03, (byte) 0xE8})); // the backend's 1000
        assertThat(writtenBytes(down)).containsExactly(0x88, 2, 0x03, 0xE8);

        tunnel.closeGracefully(CloseFrames.GOING_AWAY);

        assertThat(writtenBytes(down)).as("no second Close to the client").isEmpty();
        assertThat(writtenBytes(up)).as("the backend gets the gateway's").hasSize(8).startsWith(0x88, 0x82);
        assertBothClosed();
    }

    @Test
    void tunnelOverAnAlreadyClosedSideClosesAtOnce() {
        EmbeddedChannel otherDown = new EmbeddedChannel();
        EmbeddedChannel otherUp = new EmbeddedChannel();
        otherUp.close(); // the backend left while the 101 was being relayed
        TimerWheel otherWheel = TimerWheel.start(otherDown.eventLoop());
        AtomicInteger closed = new AtomicInteger();
        Tunnel late = Tunnel.create(otherDown, otherUp, BACKEND, otherWheel, new ConnectionRegistry(otherWheel.loop()), 1, IDLE.toNanos(), meters, closed::incrementAndGet);
        otherDown.pipeline().addLast(TunnelRelayHandler.NAME, late.downstreamRelay());

        late.start();
        otherDown.runPendingTasks();

        assertThat(otherDown.isOpen()).isFalse();
        assertThat(closed).hasValue(1);
        assertThat(otherWheel.size()).isZero();
        assertThat(meters.active()).as("only this test's main tunnel is still open").isEqualTo(1);
        otherWheel.stop();
        written(otherDown);
        assertThat(otherDown.finishAndReleaseAll()).isFalse();
        assertThat(otherUp.finishAndReleaseAll()).isFalse();
    }
}
