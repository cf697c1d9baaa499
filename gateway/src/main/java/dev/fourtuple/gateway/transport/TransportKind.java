package dev.fourtuple.gateway.transport;

import io.netty.channel.ChannelFactory;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringDatagramChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.channels.spi.SelectorProvider;
import org.jspecify.annotations.Nullable;

/**
 * The three I/O transports Netty offers on Linux, with what each needs to build loops and channels.
 *
 * <p>Sockets are made in the family of the address they serve: an IPv4 listener or backend gets an AF_INET
 * socket, not the dual-stack AF_INET6 socket Netty makes by default. The kernel's TCPv6 socket is 128 bytes
 * larger (Linux 6.x slab: TCP 2,368 bytes, TCPv6 2,496), paid by every connection on both sides. io_uring in
 * Netty 4.2 has no family constructor: its sockets stay dual-stack.
 */
public enum TransportKind {
    EPOLL {
        @Override
        public @Nullable Throwable unavailabilityCause() {
            return Epoll.isAvailable() ? null : Epoll.unavailabilityCause();
        }

        @Override
        IoHandlerFactory ioHandlerFactory() {
            return EpollIoHandler.newFactory();
        }

        @Override
        public ChannelFactory<? extends ServerChannel> serverChannelFactory(SocketProtocolFamily family) {
            return () -> new EpollServerSocketChannel(family);
        }

        @Override
        public ChannelFactory<? extends SocketChannel> socketChannelFactory(SocketProtocolFamily family) {
            return () -> new EpollSocketChannel(family);
        }

        @Override
        public ChannelFactory<? extends DatagramChannel> datagramChannelFactory() {
            return EpollDatagramChannel::new;
        }
    },
    IO_URING {
        @Override
        public @Nullable Throwable unavailabilityCause() {
            return IoUring.isAvailable() ? null : IoUring.unavailabilityCause();
        }

        @Override
        IoHandlerFactory ioHandlerFactory() {
            return IoUringIoHandler.newFactory();
        }

        @Override
        public ChannelFactory<? extends ServerChannel> serverChannelFactory(SocketProtocolFamily family) {
            return IoUringServerSocketChannel::new;
        }

        @Override
        public ChannelFactory<? extends SocketChannel> socketChannelFactory(SocketProtocolFamily family) {
            return IoUringSocketChannel::new;
        }

        @Override
        public ChannelFactory<? extends DatagramChannel> datagramChannelFactory() {
            return IoUringDatagramChannel::new;
        }
    },
    NIO {
        @Override
        public @Nullable Throwable unavailabilityCause() {
            return null;
        }

        @Override
        IoHandlerFactory ioHandlerFactory() {
            return NioIoHandler.newFactory();
        }

        @Override
        public ChannelFactory<? extends ServerChannel> serverChannelFactory(SocketProtocolFamily family) {
            return () -> new NioServerSocketChannel(SelectorProvider.provider(), family);
        }

        @Override
        public ChannelFactory<? extends SocketChannel> socketChannelFactory(SocketProtocolFamily family) {
            return () -> new NioSocketChannel(SelectorProvider.provider(), family);
        }

        @Override
        public ChannelFactory<? extends DatagramChannel> datagramChannelFactory() {
            return NioDatagramChannel::new;
        }

        @Override
        public boolean isNative() {
            return false;
        }
    };

    /** Why this transport cannot run here, or null when it can. */
    public abstract @Nullable Throwable unavailabilityCause();

    public boolean isAvailable() {
        return unavailabilityCause() == null;
    }

    abstract IoHandlerFactory ioHandlerFactory();

    /** Listening sockets of the given family. */
    public abstract ChannelFactory<? extends ServerChannel> serverChannelFactory(SocketProtocolFamily family);

    /** Connecting sockets of the given family. */
    public abstract ChannelFactory<? extends SocketChannel> socketChannelFactory(SocketProtocolFamily family);

    /**
     * UDP sockets (the DNS resolver's): dual-stack where the host has IPv6, IPv4 else (each channel's own
     * default), so one socket reaches IPv4 and IPv6 name servers alike.
     */
    public abstract ChannelFactory<? extends DatagramChannel> datagramChannelFactory();

    /** Listening sockets for {@code address}: AF_INET for an IPv4 address. */
    public ChannelFactory<? extends ServerChannel> serverChannelFactory(@Nullable InetAddress address) {
        return serverChannelFactory(familyOf(address));
    }

    /** Sockets that connect to {@code address}: AF_INET for an IPv4 address. */
    public ChannelFactory<? extends SocketChannel> socketChannelFactory(@Nullable InetAddress address) {
        return socketChannelFactory(familyOf(address));
    }

    /** The socket family that serves {@code address}; dual-stack IPv6 when it is not known (unresolved). */
    public static SocketProtocolFamily familyOf(@Nullable InetAddress address) {
        return address instanceof Inet4Address ? SocketProtocolFamily.INET : SocketProtocolFamily.INET6;
    }

    /**
     * Native transports support SO_REUSEPORT (one listening socket per loop) and the Linux-only socket
     * options; NIO supports neither.
     */
    public boolean isNative() {
        return true;
    }

    /**
     * True when this transport can make channels of sockets another process opened ({@link #adoptSocket},
     * {@link #adoptServerSocket}): only epoll. Netty 4.2's io_uring channels have no constructor that takes an
     * fd, nor have NIO's.
     */
    public boolean canAdopt() {
        return this == EPOLL;
    }

    /** A channel of a connected TCP socket received from another process (epoll only: {@link #canAdopt}). */
    public SocketChannel adoptSocket(int fd) {
        requireAdopt();
        return new EpollSocketChannel(fd);
    }

    /** A channel of a listening TCP socket received from another process (epoll only: {@link #canAdopt}). */
    public ServerChannel adoptServerSocket(int fd) {
        requireAdopt();
        return new EpollServerSocketChannel(fd);
    }

    private void requireAdopt() {
        if (!canAdopt()) {
            throw new UnsupportedOperationException("the " + configName() + " transport cannot adopt a socket");
        }
    }

    /** The spelling used in the config file and in log lines. */
    public String configName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
