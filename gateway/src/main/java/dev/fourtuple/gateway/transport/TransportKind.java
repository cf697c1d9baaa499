package dev.fourtuple.gateway.transport;

import io.netty.channel.ChannelFactory;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import org.jspecify.annotations.Nullable;

/** The three I/O transports Netty offers on Linux, with what each needs to build loops and channels. */
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
        public ChannelFactory<? extends ServerChannel> serverChannelFactory() {
            return EpollServerSocketChannel::new;
        }

        @Override
        public ChannelFactory<? extends SocketChannel> socketChannelFactory() {
            return EpollSocketChannel::new;
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
        public ChannelFactory<? extends ServerChannel> serverChannelFactory() {
            return IoUringServerSocketChannel::new;
        }

        @Override
        public ChannelFactory<? extends SocketChannel> socketChannelFactory() {
            return IoUringSocketChannel::new;
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
        public ChannelFactory<? extends ServerChannel> serverChannelFactory() {
            return NioServerSocketChannel::new;
        }

        @Override
        public ChannelFactory<? extends SocketChannel> socketChannelFactory() {
            return NioSocketChannel::new;
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

    public abstract ChannelFactory<? extends ServerChannel> serverChannelFactory();

    public abstract ChannelFactory<? extends SocketChannel> socketChannelFactory();

    /**
     * Native transports support SO_REUSEPORT (one listening socket per loop) and the Linux-only socket
     * options; NIO supports neither.
     */
    public boolean isNative() {
        return true;
    }

    /** The spelling used in the config file and in log lines. */
    public String configName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
