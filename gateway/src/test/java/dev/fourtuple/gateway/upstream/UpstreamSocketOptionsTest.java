package dev.fourtuple.gateway.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fourtuple.gateway.config.PortRange;
import dev.fourtuple.gateway.host.EphemeralPorts;
import dev.fourtuple.gateway.transport.EventLoops;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The two generic socket options reach the kernel on both native transports: read back with getsockopt(2)
 * and seen in the source port the kernel picks. Runs on Linux with epoll and io_uring, which is where the
 * gateway runs; {@code TransportTest} fails the build when either does not load.
 */
@Timeout(30)
class UpstreamSocketOptionsTest {
    private final List<Channel> channels = new ArrayList<>();
    private final BlockingQueue<Channel> accepted = new LinkedBlockingQueue<>();
    private EventLoops loops;
    private InetSocketAddress listener;
    private PortRange system;

    private void start(TransportKind kind) throws Exception {
        loops = EventLoops.start(kind, 1, "socket-options-test");
        Channel server = new ServerBootstrap()
                .group(loops.group())
                .channelFactory(kind.serverChannelFactory(SocketProtocolFamily.INET))
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel child) {
                        accepted.add(child);
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        channels.add(server);
        listener = (InetSocketAddress) server.localAddress();
    }

    @BeforeEach
    void readSystemRange() throws IOException {
        system = EphemeralPorts.read().range();
    }

    @AfterEach
    void close() {
        for (Channel channel : channels) {
            channel.close().awaitUninterruptibly();
        }
        if (loops != null) {
            loops.shutdown(Duration.ofSeconds(2));
        }
    }

    /** A thousand ports in the middle of this host's range, so the per-socket range really narrows it. */
    private PortRange narrow() {
        int low = system.low() + (system.size() - 1000) / 2;
        return new PortRange(low, low + 999);
    }

    private Bootstrap bootstrap(TransportKind kind, boolean bindAddressNoPort, PortRange range) {
        Bootstrap bootstrap = new Bootstrap()
                .group(loops.loops().get(0))
                .channelFactory(kind.socketChannelFactory(SocketProtocolFamily.INET))
                .handler(new ChannelInboundHandlerAdapter());
        UpstreamSocketOptions.apply(bootstrap, bindAddressNoPort, range);
        return bootstrap;
    }

    /** The source address as the listener saw it: what the kernel really picked, whatever Netty cached. */
    private InetSocketAddress peerSeenByListener() throws InterruptedException {
        Channel child = accepted.poll(10, TimeUnit.SECONDS);
        assertThat(child).as("accepted connection").isNotNull();
        return (InetSocketAddress) child.remoteAddress();
    }

    private Channel track(Channel channel) {
        channels.add(channel);
        return channel;
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void bothOptionsReadBackFromTheSocket(TransportKind kind) throws Exception {
        start(kind);
        PortRange range = narrow();

        Channel channel = track(bootstrap(kind, true, range).register().sync().channel());

        assertThat(channel).isInstanceOf(kind == TransportKind.EPOLL ? EpollSocketChannel.class
                : IoUringSocketChannel.class);
        assertThat(channel.config().getOption(UpstreamSocketOptions.IP_BIND_ADDRESS_NO_PORT)).isEqualTo(1);
        assertThat(channel.config().getOption(UpstreamSocketOptions.IP_LOCAL_PORT_RANGE))
                .isEqualTo(range.high() << 16 | range.low());
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void neitherOptionIsSetWhenNotAsked(TransportKind kind) throws Exception {
        start(kind);

        Channel channel = track(bootstrap(kind, false, null).register().sync().channel());

        assertThat(channel.config().getOption(UpstreamSocketOptions.IP_BIND_ADDRESS_NO_PORT)).isZero();
        assertThat(channel.config().getOption(UpstreamSocketOptions.IP_LOCAL_PORT_RANGE)).isZero();
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void bindAddressNoPortLeavesThePortToConnect(TransportKind kind) throws Exception {
        start(kind);
        InetAddress source = InetAddress.getByName("127.0.0.2");

        Channel channel = track(bootstrap(kind, true, null).register().sync().channel());
        channel.bind(new InetSocketAddress(source, 0)).sync();

        // Through unsafe(): Channel.localAddress() caches its first answer, which would hide the port to come.
        InetSocketAddress bound = (InetSocketAddress) channel.unsafe().localAddress();
        assertThat(bound.getAddress()).isEqualTo(source);
        assertThat(bound.getPort()).as("IP_BIND_ADDRESS_NO_PORT: bind() takes the address but no port yet").isZero();

        channel.connect(listener).sync();

        // Not channel.localAddress(): io_uring keeps the address it cached at bind (port 0) after connect.
        InetSocketAddress local = peerSeenByListener();
        assertThat(local.getAddress()).isEqualTo(source);
        assertThat(local.getPort()).isBetween(system.low(), system.high());
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void withoutBindAddressNoPortBindTakesThePort(TransportKind kind) throws Exception {
        start(kind);

        Channel channel = track(bootstrap(kind, false, null).register().sync().channel());
        channel.bind(new InetSocketAddress("127.0.0.3", 0)).sync();

        assertThat(((InetSocketAddress) channel.localAddress()).getPort()).isBetween(system.low(), system.high());
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void connectFromABoundSourceLeavesFromItWithinTheRanges(TransportKind kind) throws Exception {
        start(kind);
        InetAddress source = InetAddress.getByName("127.0.0.2");
        PortRange range = narrow();

        // The connector's own call: connect(remote, local) with port 0.
        SocketChannel channel = (SocketChannel) track(bootstrap(kind, true, range)
                .connect(listener, new InetSocketAddress(source, 0)).sync().channel());

        assertThat(channel.isActive()).isTrue();
        assertThat(channel.config().getOption(UpstreamSocketOptions.IP_BIND_ADDRESS_NO_PORT)).isEqualTo(1);
        InetSocketAddress local = channel.localAddress();
        assertThat(local.getAddress()).isEqualTo(source);
        assertThat(local.getPort()).isBetween(system.low(), system.high())
                .as("IP_LOCAL_PORT_RANGE %s", range).isBetween(range.low(), range.high());
        assertThat(channel.remoteAddress()).isEqualTo(listener);
        assertThat(peerSeenByListener()).isEqualTo(local);
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void localPortRangeAlsoNarrowsBindWithoutBindAddressNoPort(TransportKind kind) throws Exception {
        start(kind);
        PortRange range = narrow();

        SocketChannel channel = (SocketChannel) track(bootstrap(kind, false, range)
                .connect(listener, new InetSocketAddress("127.0.0.4", 0)).sync().channel());

        assertThat(channel.localAddress().getPort()).isBetween(range.low(), range.high());
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void kernelChosenSourceAlsoKeepsToTheRange(TransportKind kind) throws Exception {
        start(kind);
        PortRange range = narrow();

        SocketChannel channel = (SocketChannel) track(bootstrap(kind, true, range).connect(listener).sync().channel());

        assertThat(channel.localAddress().getAddress().getHostAddress()).isEqualTo("127.0.0.1");
        assertThat(channel.localAddress().getPort()).isBetween(range.low(), range.high());
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void perSocketRangeOutsideTheSystemRangeIsIgnoredByTheKernel(TransportKind kind) throws Exception {
        // inet_sk_get_local_port_range takes each per-socket bound only when it lies inside the system range,
        // so a range wholly outside it leaves every system port usable (what EphemeralPorts.capacity must say).
        start(kind);
        PortRange outside = system.low() > 1024 ? new PortRange(1024, system.low() - 1)
                : new PortRange(system.high() + 1, 65535);

        SocketChannel channel = (SocketChannel) track(bootstrap(kind, true, outside)
                .connect(listener, new InetSocketAddress("127.0.0.2", 0)).sync().channel());

        assertThat(channel.config().getOption(UpstreamSocketOptions.IP_LOCAL_PORT_RANGE))
                .isEqualTo(outside.high() << 16 | outside.low());
        assertThat(channel.localAddress().getPort()).as("per-socket %s ignored", outside)
                .isBetween(system.low(), system.high());
    }
}
