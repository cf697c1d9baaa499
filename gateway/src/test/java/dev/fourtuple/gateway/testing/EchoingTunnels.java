package dev.fourtuple.gateway.testing;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Many WebSocket tunnels through the gateway to an echo backend, each sending a text frame with the next
 * sequence number every period and checking that the echoes come back whole, in order, each once (RFC 6455
 * §5.2 framing parsed by hand from the raw bytes: a cut or merged frame is a problem too). Whatever goes wrong
 * on any tunnel (a frame lost, duplicated, reordered or malformed, a close, a reset) is collected in
 * {@link #problems()}.
 *
 * <p>Bytes are handled in plain arrays, each received buffer copied once: the test JVM runs Netty's paranoid
 * leak detector, which records every access to a buffer, and a byte-by-byte parse of buffers would make this
 * client, not the gateway, the bottleneck.
 */
public final class EchoingTunnels implements AutoCloseable {
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    private final List<Tunnel> tunnels = new ArrayList<>();
    private final Queue<String> problems = new ConcurrentLinkedQueue<>();
    private volatile boolean closing;

    /**
     * Opens {@code count} tunnels to {@code path} and waits until every one has its 101.
     *
     * @throws AssertionError when one does not within {@code timeout}
     */
    public static EchoingTunnels open(InetSocketAddress gateway, String path, int count, Duration timeout)
            throws InterruptedException {
        EchoingTunnels fleet = new EchoingTunnels();
        Bootstrap bootstrap = new Bootstrap().group(fleet.group).channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true);
        List<ChannelFuture> connects = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Tunnel tunnel = fleet.new Tunnel(i, path);
            fleet.tunnels.add(tunnel);
            connects.add(bootstrap.clone().handler(tunnel).connect(gateway));
            if (i % 100 == 99) {
                connects.forEach(ChannelFuture::syncUninterruptibly); // in steps: the accept queue stays short
            }
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Tunnel tunnel : fleet.tunnels) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || !tunnel.upgraded.await(left, TimeUnit.NANOSECONDS)) {
                fleet.close();
                throw new AssertionError("tunnel " + tunnel.index + " got no 101 within " + timeout + "; problems: "
                        + fleet.problems);
            }
        }
        return fleet;
    }

    /** From now on every tunnel sends its next frame every {@code period} (spread over the period). */
    public void startEchoing(Duration period) {
        long periodNanos = period.toNanos();
        for (Tunnel tunnel : tunnels) {
            tunnel.channel.eventLoop().scheduleAtFixedRate(tunnel::sendNext,
                    ThreadLocalRandom.current().nextLong(periodNanos), periodNanos, TimeUnit.NANOSECONDS);
        }
    }

    /** The fewest echoes any tunnel has received so far. */
    public long minEchoes() {
        return tunnels.stream().mapToLong(t -> t.received).min().orElse(0);
    }

    /** The longest any tunnel went between two echoes, so far. */
    public Duration longestGap() {
        return Duration.ofNanos(tunnels.stream().mapToLong(t -> t.longestGap).max().orElse(0));
    }

    /** The tunnels with fewer than {@code echoes} echoes: index, local port, frames sent and echoes received. */
    public List<String> behind(long echoes) {
        List<String> behind = new ArrayList<>();
        for (Tunnel t : tunnels) {
            if (t.received < echoes) {
                behind.add("tunnel " + t.index + " (port " + ((InetSocketAddress) t.channel.localAddress()).getPort()
                        + "): sent " + t.nextToSend + ", echoed " + t.received);
            }
        }
        return behind;
    }

    public List<String> problems() {
        return List.copyOf(problems);
    }

    @Override
    public void close() {
        closing = true;
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** One tunnel: upgrade, then frames out every period and echoes checked as they come. */
    private final class Tunnel extends ChannelInboundHandlerAdapter {
        final int index;
        final String path;
        final java.util.concurrent.CountDownLatch upgraded = new java.util.concurrent.CountDownLatch(1);
        Channel channel;
        byte[] in = new byte[256];
        int inLength;
        boolean open;
        long nextToSend;
        long nextExpected;
        volatile long received;
        volatile long longestGap;
        long lastEcho;

        Tunnel(int index, String path) {
            this.index = index;
            this.path = path;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            channel = ctx.channel();
            ctx.writeAndFlush(Unpooled.copiedBuffer("GET " + path + " HTTP/1.1\r\nHost: tunnels\r\nUpgrade: websocket\r\n"
                    + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    + "Sec-WebSocket-Version: 13\r\n\r\n", StandardCharsets.US_ASCII));
        }

        void sendNext() {
            if (!open || !channel.isActive()) {
                return;
            }
            byte[] payload = Long.toString(nextToSend++).getBytes(StandardCharsets.US_ASCII);
            byte[] mask = {1, 2, 3, 4};
            byte[] frame = new byte[6 + payload.length];
            frame[0] = (byte) 0x81;
            frame[1] = (byte) (0x80 | payload.length); // RFC 6455 §5.3: a client masks what it sends
            System.arraycopy(mask, 0, frame, 2, 4);
            for (int i = 0; i < payload.length; i++) {
                frame[6 + i] = (byte) (payload[i] ^ mask[i % 4]);
            }
            channel.writeAndFlush(Unpooled.wrappedBuffer(frame));
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf bytes = (ByteBuf) msg;
            int n = bytes.readableBytes();
            if (inLength + n > in.length) {
                in = java.util.Arrays.copyOf(in, Math.max(in.length * 2, inLength + n));
            }
            bytes.readBytes(in, inLength, n);
            bytes.release();
            inLength += n;
            int at = 0;
            if (!open) {
                int end = indexOf(in, inLength, "\r\n\r\n");
                if (end < 0) {
                    return;
                }
                String head = new String(in, 0, end + 4, StandardCharsets.US_ASCII);
                at = end + 4;
                if (!head.startsWith("HTTP/1.1 101")) {
                    problems.add("tunnel " + index + ": no 101: " + head.lines().findFirst().orElse(""));
                    ctx.close();
                    return;
                }
                open = true;
                lastEcho = System.nanoTime();
                upgraded.countDown();
            }
            while (inLength - at >= 2) { // RFC 6455 §5.2: FIN+opcode, then an unmasked 7-bit length
                int first = in[at] & 0xFF;
                int length = in[at + 1] & 0xFF;
                if ((first & 0x80) == 0 || (first & 0x0F) != 1 || length > 125) {
                    problems.add("tunnel " + index + ": not a whole small text frame: first bytes "
                            + Integer.toHexString(first) + " " + Integer.toHexString(length));
                    ctx.close();
                    return;
                }
                if (inLength - at < 2 + length) {
                    break;
                }
                long seq = Long.parseLong(new String(in, at + 2, length, StandardCharsets.US_ASCII));
                at += 2 + length;
                if (seq != nextExpected) {
                    problems.add("tunnel " + index + ": echo " + seq + " where " + nextExpected + " was due");
                }
                nextExpected = seq + 1;
                long now = System.nanoTime();
                longestGap = Math.max(longestGap, now - lastEcho);
                lastEcho = now;
                received++;
            }
            System.arraycopy(in, at, in, 0, inLength - at);
            inLength -= at;
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (!closing) {
                problems.add("tunnel " + index + ": closed after " + received + " echo(es)");
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (!closing) {
                problems.add("tunnel " + index + ": " + cause);
            }
            ctx.close();
        }
    }

    private static int indexOf(byte[] bytes, int length, String text) {
        byte[] needle = text.getBytes(StandardCharsets.US_ASCII);
        outer:
        for (int i = 0; i <= length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (bytes[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
