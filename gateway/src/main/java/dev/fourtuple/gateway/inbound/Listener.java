package dev.fourtuple.gateway.inbound;

import dev.fourtuple.gateway.transport.EventLoops;
import dev.fourtuple.gateway.transport.SocketOptions;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ServerChannel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.unix.UnixChannelOption;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The listening sockets, all on one address. With a native transport there is one per event loop, bound with
 * SO_REUSEPORT, each handing its accepted connections to its own loop: the kernel spreads accepts over the
 * loops and no accept crosses a thread. With NIO, one socket and Netty's round-robin over the loops.
 */
public final class Listener {
    private final List<Channel> channels;
    private final InetSocketAddress address;

    private Listener(List<Channel> channels, InetSocketAddress address) {
        this.channels = List.copyOf(channels);
        this.address = address;
    }

    /**
     * Binds and starts accepting.
     *
     * @throws InterruptedException when interrupted while binding
     * @throws io.netty.channel.ChannelException or an IOException subclass when the bind fails
     */
    public static Listener bind(EventLoops loops, InetSocketAddress requested, int backlog, ChannelHandler childInitializer)
            throws InterruptedException {
        return bind(loops, requested, backlog, childInitializer, null, null);
    }

    /**
     * Binds with a handler of the listening socket's own (one per socket, from {@code parentHandler}), such as
     * admission's, ahead of Netty's acceptor, and with the socket options its accepted connections inherit
     * ({@code inherited}, set before the socket listens, so that no connection comes without them).
     */
    public static Listener bind(EventLoops loops, InetSocketAddress requested, int backlog, ChannelHandler childInitializer,
            @Nullable Supplier<ChannelHandler> parentHandler, @Nullable SocketOptions inherited)
            throws InterruptedException {
        List<Channel> bound = new ArrayList<>();
        InetSocketAddress target = requested;
        ChannelFactory<? extends ServerChannel> sockets = withOptions(
                loops.transport().serverChannelFactory(requested.getAddress()), inherited);
        try {
            if (loops.transport().isNative()) {
                for (EventLoop loop : loops.loops()) {
                    Channel channel = bootstrap(sockets, backlog, childInitializer, parentHandler)
                            .group(loop, loop)
                            .option(UnixChannelOption.SO_REUSEPORT, true)
                            .bind(target).sync().channel();
                    bound.add(channel);
                    target = (InetSocketAddress) channel.localAddress(); // port 0: the rest join the same port
                }
            } else {
                bound.add(bootstrap(sockets, backlog, childInitializer, parentHandler)
                        .group(loops.loops().get(0), loops.group())
                        .bind(target).sync().channel());
            }
        } catch (Exception e) { // also the IOException a failed bind() throws unchecked
            bound.forEach(Channel::close);
            throw e;
        }
        return new Listener(bound, (InetSocketAddress) bound.get(0).localAddress());
    }

    /**
     * Takes over listening sockets a predecessor process passed on (their fds, all of one address): each
     * becomes a channel on a loop, round robin (more sockets than loops: a loop serves several), accepting at
     * once. The sockets never closed, so what queued in them meanwhile is accepted here.
     *
     * @throws InterruptedException when interrupted while registering
     */
    public static Listener adopt(EventLoops loops, List<Integer> fds, int backlog, ChannelHandler childInitializer,
            @Nullable Supplier<ChannelHandler> parentHandler, @Nullable SocketOptions inherited)
            throws InterruptedException {
        List<Channel> adopted = new ArrayList<>();
        try {
            for (int i = 0; i < fds.size(); i++) {
                EventLoop loop = loops.loops().get(i % loops.loops().size());
                int fd = fds.get(i);
                ServerBootstrap bootstrap = bootstrap(withOptions(() -> loops.transport().adoptServerSocket(fd),
                        inherited), backlog, childInitializer, parentHandler)
                        .group(loop, loop)
                        .option(UnixChannelOption.SO_REUSEPORT, true);
                adopted.add(bootstrap.register().sync().channel());
            }
        } catch (Exception e) {
            adopted.forEach(Channel::close);
            throw e;
        }
        return new Listener(adopted, (InetSocketAddress) adopted.get(0).localAddress());
    }

    /** Sockets from {@code sockets} with {@code inherited}'s listener options set as each is made. */
    private static ChannelFactory<? extends ServerChannel> withOptions(ChannelFactory<? extends ServerChannel> sockets,
            @Nullable SocketOptions inherited) {
        if (inherited == null) {
            return sockets;
        }
        return () -> {
            ServerChannel channel = sockets.newChannel();
            inherited.applyToListener(channel.config());
            return channel;
        };
    }

    /**
     * Sets {@code inherited}'s listener options on the live sockets (a reload): connections accepted from then
     * on carry them.
     */
    public void apply(SocketOptions inherited) {
        channels.forEach(channel -> inherited.applyToListener(channel.config()));
    }

    /** The listening channels (a handover passes their sockets on). */
    public List<Channel> channels() {
        return channels;
    }

    private static ServerBootstrap bootstrap(ChannelFactory<? extends ServerChannel> sockets, int backlog,
            ChannelHandler child,
            @Nullable Supplier<ChannelHandler> parentHandler) {
        ServerBootstrap bootstrap = new ServerBootstrap();
        if (parentHandler != null) {
            bootstrap.handler(parentHandler.get());
        }
        return bootstrap
                .channelFactory(sockets)
                .option(ChannelOption.SO_BACKLOG, backlog)
                .option(ChannelOption.SO_REUSEADDR, true)
                // Options the proxy owns; not configurable (backpressure and half-close depend on them). The
                // configurable ones are set per connection by the front end, so a reload applies to new ones.
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(child);
    }

    /** The bound address (the real port when 0 was asked for). */
    public InetSocketAddress address() {
        return address;
    }

    /** How many listening sockets share the port. */
    public int socketCount() {
        return channels.size();
    }

    /** Stops accepting; established connections are not touched. */
    public void close() {
        for (Channel channel : channels) {
            channel.close().syncUninterruptibly();
        }
    }
}
