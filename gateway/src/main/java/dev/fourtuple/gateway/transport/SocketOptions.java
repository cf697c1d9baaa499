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
 *
 * <p>Each setsockopt is a system call per connection, so none is made that the new socket does not need:
 * <ul>
 *   <li>An option at the value a new socket already has is left alone: SO_KEEPALIVE off, TCP_USER_TIMEOUT
 *       and TCP_NOTSENT_LOWAT 0, and TCP_NODELAY on (Netty's socket channels turn it on in their constructor
 *       on every transport; a second set was measured in strace at every connect).
 *   <li>On the native transports the accepted side's kernel options are set once on the listening socket:
 *       Linux builds each accepted socket as a copy of its listener (sk_clone_lock in net/core/sock.c), so
 *       buffer sizes (with their lock), keepalive and its timing, TCP_USER_TIMEOUT and
 *       TCP_NOTSENT_LOWAT arrive with the accept: 5 setsockopt fewer per connection in the measured default.
 *       SO_RCVBUF must be there anyway to count: the window scale is chosen from it at the SYN, before any
 *       accepted socket exists. TCP_NODELAY is not taken from there: Netty's constructor turns it on
 *       in every accepted socket, so only off is set, per connection. NIO's listening socket cannot carry these, so there every accepted socket
 *       gets them all.
 * </ul>
 */
public final class SocketOptions {
    private static final int IPPROTO_TCP = 6;
    private static final int SOL_SOCKET = 1;
    /** linux/tcp.h. */
    public static final IntegerUnixChannelOption TCP_KEEPIDLE = tcp("TCP_KEEPIDLE", 4);
    public static final IntegerUnixChannelOption TCP_KEEPINTVL = tcp("TCP_KEEPINTVL", 5);
    public static final IntegerUnixChannelOption TCP_KEEPCNT = tcp("TCP_KEEPCNT", 6);
    public static final IntegerUnixChannelOption TCP_USER_TIMEOUT = tcp("TCP_USER_TIMEOUT", 18);
    public static final IntegerUnixChannelOption TCP_NOTSENT_LOWAT = tcp("TCP_NOTSENT_LOWAT", 25);
    /**
     * The same options by number for a listening socket: Netty's server channel configs take no SO_SNDBUF or
     * SO_KEEPALIVE of their own, but pass these through to setsockopt (asm-generic/socket.h).
     */
    private static final IntegerUnixChannelOption LISTENER_SO_SNDBUF = socket("SO_SNDBUF", 7);
    private static final IntegerUnixChannelOption LISTENER_SO_RCVBUF = socket("SO_RCVBUF", 8);
    private static final IntegerUnixChannelOption LISTENER_SO_KEEPALIVE = socket("SO_KEEPALIVE", 9);

    /** Kernel options for a connection of its own (upstream; accepted ones on NIO). */
    private final Map<ChannelOption<?>, Object> kernel;
    /** Kernel options for the listening socket, which its accepted sockets inherit (native transports). */
    private final Map<ChannelOption<?>, Object> listener;
    /** Kernel options an accepted socket still needs of its own although the listener has them. */
    private final Map<ChannelOption<?>, Object> acceptedKernel;
    /** Netty's own options (no system call): write watermarks, the receive buffer allocator. */
    private final Map<ChannelOption<?>, Object> channel;
    private final boolean inheritsFromListener;
    private final List<String> unsupported;

    private SocketOptions(Map<ChannelOption<?>, Object> kernel, Map<ChannelOption<?>, Object> listener,
            Map<ChannelOption<?>, Object> acceptedKernel, Map<ChannelOption<?>, Object> channel,
            boolean inheritsFromListener, List<String> unsupported) {
        this.kernel = kernel;
        this.listener = listener;
        this.acceptedKernel = acceptedKernel;
        this.channel = channel;
        this.inheritsFromListener = inheritsFromListener;
        this.unsupported = List.copyOf(unsupported);
    }

    private static IntegerUnixChannelOption tcp(String name, int optname) {
        return new IntegerUnixChannelOption("FOURTUPLE_" + name, IPPROTO_TCP, optname);
    }

    private static IntegerUnixChannelOption socket(String name, int optname) {
        return new IntegerUnixChannelOption("FOURTUPLE_" + name, SOL_SOCKET, optname);
    }

    /**
     * The options for {@code settings} on {@code transport}.
     *
     * @param side "downstream" or "upstream", for the names of unsupported keys
     */
    public static SocketOptions of(SocketSettings settings, TransportKind transport, String side) {
        Map<ChannelOption<?>, Object> kernel = new LinkedHashMap<>();
        Map<ChannelOption<?>, Object> listener = new LinkedHashMap<>();
        List<String> unsupported = new ArrayList<>();
        boolean tcpOptions = transport.isNative();
        if (settings.rcvbuf() > 0) {
            kernel.put(ChannelOption.SO_RCVBUF, settings.rcvbuf());
            listener.put(LISTENER_SO_RCVBUF, settings.rcvbuf());
        }
        if (settings.sndbuf() > 0) {
            kernel.put(ChannelOption.SO_SNDBUF, settings.sndbuf());
            listener.put(LISTENER_SO_SNDBUF, settings.sndbuf());
        }
        if (!settings.nodelay()) {
            kernel.put(ChannelOption.TCP_NODELAY, false);
        }
        SocketSettings.TcpKeepalive keepalive = settings.keepalive();
        // The listener gets the switches explicitly, off too: a reload may turn off what it had on.
        listener.put(LISTENER_SO_KEEPALIVE, keepalive != null ? 1 : 0);
        if (keepalive != null) {
            kernel.put(ChannelOption.SO_KEEPALIVE, true);
            int idle = (int) keepalive.idle().toSeconds();
            int interval = (int) keepalive.interval().toSeconds();
            if (tcpOptions) {
                kernel.put(TCP_KEEPIDLE, idle);
                kernel.put(TCP_KEEPINTVL, interval);
                kernel.put(TCP_KEEPCNT, keepalive.count());
                listener.put(TCP_KEEPIDLE, idle);
                listener.put(TCP_KEEPINTVL, interval);
                listener.put(TCP_KEEPCNT, keepalive.count());
            } else {
                kernel.put(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE), idle);
                kernel.put(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL), interval);
                kernel.put(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT), keepalive.count());
            }
        }
        if (tcpOptions) {
            int userTimeout = (int) settings.userTimeout().toMillis();
            listener.put(TCP_USER_TIMEOUT, userTimeout);
            if (userTimeout > 0) {
                kernel.put(TCP_USER_TIMEOUT, userTimeout);
            }
            listener.put(TCP_NOTSENT_LOWAT, settings.notsentLowat()); // 0: the sysctl's (unlimited)
            if (settings.notsentLowat() > 0) {
                kernel.put(TCP_NOTSENT_LOWAT, settings.notsentLowat());
            }
        } else {
            if (!settings.userTimeout().isZero()) {
                unsupported.add(side + ".user-timeout");
            }
            if (settings.notsentLowat() > 0) {
                unsupported.add(side + ".notsent-lowat");
            }
        }
        Map<ChannelOption<?>, Object> acceptedKernel = new LinkedHashMap<>();
        if (!settings.nodelay()) {
            acceptedKernel.put(ChannelOption.TCP_NODELAY, false); // Netty's constructor turned it on again
        }
        Map<ChannelOption<?>, Object> channel = new LinkedHashMap<>();
        channel.put(ChannelOption.WRITE_BUFFER_WATER_MARK,
                new WriteBufferWaterMark(settings.writeLowWater(), settings.writeHighWater()));
        channel.put(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(
                settings.receiveMin(), settings.receiveInitial(), settings.receiveMax()));
        return new SocketOptions(kernel, tcpOptions ? listener : Map.of(), acceptedKernel, channel, tcpOptions,
                unsupported);
    }

    /** Keys the transport cannot honour (empty when all apply). */
    public List<String> unsupported() {
        return unsupported;
    }

    /** Sets the options on a client bootstrap (upstream connections). */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public void applyTo(AbstractBootstrap<?, ?> bootstrap) {
        kernel.forEach((option, value) -> bootstrap.option((ChannelOption) option, value));
        channel.forEach((option, value) -> bootstrap.option((ChannelOption) option, value));
    }

    /**
     * Sets what the accepted connections inherit on a listening socket (nothing on NIO); on a live one, such
     * as at a reload, it applies to connections accepted from then on.
     */
    public void applyToListener(ChannelConfig config) {
        set(config, listener);
    }

    /** Sets the rest on an accepted connection, before its first read: its listener has {@link #applyToListener}'s. */
    public void applyToAccepted(ChannelConfig config) {
        set(config, inheritsFromListener ? acceptedKernel : kernel);
        set(config, channel);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void set(ChannelConfig config, Map<ChannelOption<?>, Object> options) {
        options.forEach((option, value) -> config.setOption((ChannelOption) option, value));
    }

    /**
     * Whether a listening socket that had {@code before}'s options can take {@code after}'s: a buffer size,
     * once set, locks it against the kernel's autotuning, and no setsockopt undoes the lock.
     */
    public static boolean listenerCanChange(SocketSettings before, SocketSettings after) {
        return !(before.rcvbuf() > 0 && after.rcvbuf() == 0) && !(before.sndbuf() > 0 && after.sndbuf() == 0);
    }

    /** The options a connection sets on itself (an upstream one; an accepted one on NIO), for tests. */
    public Map<ChannelOption<?>, Object> options() {
        Map<ChannelOption<?>, Object> all = new LinkedHashMap<>(kernel);
        all.putAll(channel);
        return Map.copyOf(all);
    }
}
