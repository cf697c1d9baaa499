package dev.fourtuple.gateway.transport;

import dev.fourtuple.gateway.config.SocketSettings;
import io.netty.bootstrap.AbstractBootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.unix.IntegerUnixChannelOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jdk.net.ExtendedSocketOptions;

/**
 * The socket options one side's settings ask for, as Netty options for one transport, plus the ones that
 * transport cannot set (reported once at start, never silently dropped).
 *
 * <p>The TCP-level options go through Netty's generic {@link IntegerUnixChannelOption} on epoll and io_uring
 * (one path for both, numbers from linux/tcp.h); NIO sets keepalive timing through the JDK's extended socket
 * options and cannot set TCP_USER_TIMEOUT or TCP_NOTSENT_LOWAT.
 */
public final class SocketOptions {
    private static final int IPPROTO_TCP = 6;
    /** linux/tcp.h. */
    public static final IntegerUnixChannelOption TCP_KEEPIDLE = tcp("TCP_KEEPIDLE", 4);
    public static final IntegerUnixChannelOption TCP_KEEPINTVL = tcp("TCP_KEEPINTVL", 5);
    public static final IntegerUnixChannelOption TCP_KEEPCNT = tcp("TCP_KEEPCNT", 6);
    public static final IntegerUnixChannelOption TCP_USER_TIMEOUT = tcp("TCP_USER_TIMEOUT", 18);
    public static final IntegerUnixChannelOption TCP_NOTSENT_LOWAT = tcp("TCP_NOTSENT_LOWAT", 25);

    private final Map<ChannelOption<?>, Object> options;
    private final List<String> unsupported;

    private SocketOptions(Map<ChannelOption<?>, Object> options, List<String> unsupported) {
        this.options = options;
        this.unsupported = List.copyOf(unsupported);
    }

    private static IntegerUnixChannelOption tcp(String name, int optname) {
        return new IntegerUnixChannelOption("FOURTUPLE_" + name, IPPROTO_TCP, optname);
    }

    /**
     * The options for {@code settings} on {@code transport}.
     *
     * @param side "downstream" or "upstream", for the names of unsupported keys
     */
    public static SocketOptions of(SocketSettings settings, TransportKind transport, String side) {
        Map<ChannelOption<?>, Object> options = new LinkedHashMap<>();
        List<String> unsupported = new ArrayList<>();
        if (settings.rcvbuf() > 0) {
            options.put(ChannelOption.SO_RCVBUF, settings.rcvbuf());
        }
        if (settings.sndbuf() > 0) {
            options.put(ChannelOption.SO_SNDBUF, settings.sndbuf());
        }
        options.put(ChannelOption.TCP_NODELAY, settings.nodelay());
        SocketSettings.TcpKeepalive keepalive = settings.keepalive();
        options.put(ChannelOption.SO_KEEPALIVE, keepalive != null);
        if (keepalive != null) {
            int idle = (int) keepalive.idle().toSeconds();
            int interval = (int) keepalive.interval().toSeconds();
            if (transport.isNative()) {
                options.put(TCP_KEEPIDLE, idle);
                options.put(TCP_KEEPINTVL, interval);
                options.put(TCP_KEEPCNT, keepalive.count());
            } else {
                options.put(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE), idle);
                options.put(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL), interval);
                options.put(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT), keepalive.count());
            }
        }
        if (!settings.userTimeout().isZero()) {
            if (transport.isNative()) {
                options.put(TCP_USER_TIMEOUT, (int) settings.userTimeout().toMillis());
            } else {
                unsupported.add(side + ".user-timeout");
            }
        }
        if (settings.notsentLowat() > 0) {
            if (transport.isNative()) {
                options.put(TCP_NOTSENT_LOWAT, settings.notsentLowat());
            } else {
                unsupported.add(side + ".notsent-lowat");
            }
        }
        options.put(ChannelOption.WRITE_BUFFER_WATER_MARK,
                new WriteBufferWaterMark(settings.writeLowWater(), settings.writeHighWater()));
        options.put(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(
                settings.receiveMin(), settings.receiveInitial(), settings.receiveMax()));
        return new SocketOptions(options, unsupported);
    }

    /** Keys the transport cannot honour (empty when all apply). */
    public List<String> unsupported() {
        return unsupported;
    }

    /** Sets the options on a client bootstrap (upstream connections). */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public void applyTo(AbstractBootstrap<?, ?> bootstrap) {
        options.forEach((option, value) -> bootstrap.option((ChannelOption) option, value));
    }

    /** Sets the options on a new channel (client connections, before its first read). */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public void applyTo(ChannelConfig config) {
        options.forEach((option, value) -> config.setOption((ChannelOption) option, value));
    }

    /** The options, for tests that read them back from a live socket. */
    public Map<ChannelOption<?>, Object> options() {
        return Map.copyOf(options);
    }
}
