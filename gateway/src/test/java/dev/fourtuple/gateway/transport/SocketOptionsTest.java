package dev.fourtuple.gateway.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.fourtuple.gateway.config.SocketSettings;
import dev.fourtuple.gateway.host.ProcFiles;
import dev.fourtuple.gateway.inbound.Listener;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.ChannelOption;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUringChannelOption;
import io.netty.channel.uring.IoUringSocketChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import jdk.net.ExtendedSocketOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link SocketOptions} reach the kernel and the channel on every transport: each option is read back from
 * a live, connected loopback socket, on both ends of a pair. The accepted end gets the options the way the
 * gateway applies them: the listener's through {@link Listener#bind} (on the native transports the accepted
 * socket inherits them from the listening one), the rest in the initializer, as {@code FrontendInitializer}
 * does; the connecting end the way {@code UpstreamConnector} does (on the bootstrap, before connect). Every value differs from the
 * transport's default, so an option that was dropped cannot pass.
 *
 * <p>On the native transports the TCP options are also read through Netty's own named option of that
 * transport, so a wrong option number in {@link SocketOptions} (which would read back its own wrong value)
 * fails too.
 */
@Timeout(30)
class SocketOptionsTest {
    private static final int RCVBUF = 32 * 1024;
    private static final int SNDBUF = 64 * 1024;
    private static final int KEEPIDLE = 37;
    private static final int KEEPINTVL = 11;
    private static final int KEEPCNT = 4;
    private static final int USER_TIMEOUT_MS = 7000;
    private static final int NOTSENT_LOWAT = 16 * 1024;
    private static final int HIGH_WATER = 48 * 1024;
    private static final int LOW_WATER = 24 * 1024;
    private static final int RECEIVE_MIN = 128;
    private static final int RECEIVE_INITIAL = 1024;
    private static final int RECEIVE_MAX = 16 * 1024;

    /** Every option away from its default: Netty turns TCP_NODELAY on by default, so off is the change. */
    private static final SocketSettings TUNED = new SocketSettings(RCVBUF, SNDBUF, false,
            new SocketSettings.TcpKeepalive(Duration.ofSeconds(KEEPIDLE), Duration.ofSeconds(KEEPINTVL), KEEPCNT),
            Duration.ofMillis(USER_TIMEOUT_MS), NOTSENT_LOWAT, HIGH_WATER, LOW_WATER, RECEIVE_MIN, RECEIVE_INITIAL,
            RECEIVE_MAX);
    /** reference.conf's defaults with buffers on auto, keepalive, user-timeout and notsent-lowat off. */
    private static final SocketSettings AUTO = new SocketSettings(0, 0, true, null, Duration.ZERO, 0,
            64 * 1024, 32 * 1024, 64, 2048, 64 * 1024);

    private final List<Channel> channels = new ArrayList<>();
    private final BlockingQueue<Channel> accepted = new LinkedBlockingQueue<>();
    private final List<Throwable> initFailures = new ArrayList<>();
    private EventLoops loops;

    /** Both ends of one loopback connection, and the listening socket that accepted it. */
    private record Pair(Channel accepted, Channel connected, Channel listener) {
    }

    @AfterEach
    void close() {
        for (Channel channel : channels) {
            channel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        if (loops != null) {
            loops.shutdown(Duration.ofSeconds(2));
        }
    }

    private void start(TransportKind kind) {
        assumeThat(kind.unavailabilityCause()).as("%s does not load here", kind).isNull();
        loops = EventLoops.start(kind, 1, "socket-options-test");
    }

    /**
     * A connected pair; {@code onAccepted} / {@code onConnect} null = no options (the transport's defaults).
     */
    private Pair connect(TransportKind kind, SocketOptions onAccepted, SocketOptions onConnect) throws Exception {
        Listener listener = Listener.bind(loops, new InetSocketAddress("127.0.0.1", 0), 128,
                new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel child) {
                        try {
                            if (onAccepted != null) {
                                onAccepted.applyToAccepted(child.config());
                            }
                        } catch (RuntimeException e) {
                            synchronized (initFailures) {
                                initFailures.add(e);
                            }
                        }
                        accepted.add(child);
                    }
                }, null, onAccepted);
        Channel server = listener.channels().get(0);
        channels.addAll(listener.channels());
        Bootstrap bootstrap = new Bootstrap()
                .group(loops.loops().get(0))
                .channelFactory(kind.socketChannelFactory(SocketProtocolFamily.INET))
                .option(ChannelOption.AUTO_READ, false)
                .handler(new ChannelInboundHandlerAdapter());
        if (onConnect != null) {
            onConnect.applyTo(bootstrap);
        }
        Channel connected = bootstrap.connect(server.localAddress()).sync().channel();
        channels.add(connected);
        Channel child = accepted.poll(10, TimeUnit.SECONDS);
        assertThat(child).as("accepted connection").isNotNull();
        channels.add(child);
        synchronized (initFailures) {
            assertThat(initFailures).as("options applied in the initializer").isEmpty();
        }
        assertThat(connected.isActive()).isTrue();
        assertThat(child.isActive()).isTrue();
        assertThat(connected).isInstanceOf(switch (kind) {
            case EPOLL -> EpollSocketChannel.class;
            case IO_URING -> IoUringSocketChannel.class;
            case NIO -> NioSocketChannel.class;
        });
        return new Pair(child, connected, server);
    }

    @ParameterizedTest
    @EnumSource(TransportKind.class)
    void everyOptionReadsBackFromBothEndsOfALiveConnection(TransportKind kind) throws Exception {
        start(kind);
        SocketOptions options = SocketOptions.of(TUNED, kind, "downstream");

        Pair pair = connect(kind, options, options);

        for (Channel channel : List.of(pair.accepted(), pair.connected())) {
            String end = channel == pair.accepted() ? "accepted end" : "connecting end";
            ChannelConfig config = channel.config();
            // Linux doubles SO_RCVBUF / SO_SNDBUF on the way in (the extra half is its bookkeeping).
            assertThat(config.getOption(ChannelOption.SO_RCVBUF)).as("%s SO_RCVBUF", end)
                    .isEqualTo(readBack(kind, RCVBUF, "rmem_max"));
            assertThat(config.getOption(ChannelOption.SO_SNDBUF)).as("%s SO_SNDBUF", end)
                    .isEqualTo(readBack(kind, SNDBUF, "wmem_max"));
            assertThat(config.getOption(ChannelOption.TCP_NODELAY)).as("%s TCP_NODELAY", end).isFalse();
            assertThat(config.getOption(ChannelOption.SO_KEEPALIVE)).as("%s SO_KEEPALIVE", end).isTrue();
            assertThat(keepalive(kind, config)).as("%s keepalive idle, interval, count", end)
                    .containsExactly(KEEPIDLE, KEEPINTVL, KEEPCNT);
            if (kind.isNative()) {
                assertThat(namedKeepalive(kind, config)).as("%s keepalive by %s's own options", end, kind)
                        .containsExactly(KEEPIDLE, KEEPINTVL, KEEPCNT);
                assertThat(config.getOption(SocketOptions.TCP_USER_TIMEOUT)).as("%s TCP_USER_TIMEOUT", end)
                        .isEqualTo(USER_TIMEOUT_MS);
                assertThat(config.getOption(named(kind, "TCP_USER_TIMEOUT"))).as("%s named TCP_USER_TIMEOUT", end)
                        .isEqualTo(USER_TIMEOUT_MS);
                assertThat(config.getOption(SocketOptions.TCP_NOTSENT_LOWAT)).as("%s TCP_NOTSENT_LOWAT", end)
                        .isEqualTo(NOTSENT_LOWAT);
                assertThat(config.getOption(kind == TransportKind.EPOLL ? EpollChannelOption.TCP_NOTSENT_LOWAT
                        : IoUringChannelOption.TCP_NOTSENT_LOWAT)).as("%s named TCP_NOTSENT_LOWAT", end)
                        .isEqualTo((long) NOTSENT_LOWAT);
            }
            WriteBufferWaterMark marks = config.getOption(ChannelOption.WRITE_BUFFER_WATER_MARK);
            assertThat(marks.high()).as("%s write high water", end).isEqualTo(HIGH_WATER);
            assertThat(marks.low()).as("%s write low water", end).isEqualTo(LOW_WATER);
            // Nothing pending: unwritable once more than the high mark is queued, one byte past it.
            assertThat(channel.bytesBeforeUnwritable()).as("%s: the channel itself uses the high mark", end)
                    .isEqualTo(HIGH_WATER + 1);
            assertThat(config.getOption(ChannelOption.RCVBUF_ALLOCATOR)).as(end)
                    .isInstanceOf(AdaptiveRecvByteBufAllocator.class);
            assertThat(onLoop(channel, () -> channel.unsafe().recvBufAllocHandle().guess()))
                    .as("%s: the live read handle starts at receive-buffer.initial", end).isEqualTo(RECEIVE_INITIAL);
        }
    }

    @ParameterizedTest
    @EnumSource(TransportKind.class)
    void receiveBufferGuessesStayBetweenMinAndMax(TransportKind kind) throws Exception {
        start(kind);
        Pair pair = connect(kind, SocketOptions.of(TUNED, kind, "downstream"), null);
        ChannelConfig config = pair.accepted().config();
        RecvByteBufAllocator.ExtendedHandle handle =
                (RecvByteBufAllocator.ExtendedHandle) config.getRecvByteBufAllocator().newHandle();

        assertThat(handle.guess()).isEqualTo(RECEIVE_INITIAL);
        for (int i = 0; i < 100; i++) { // reads far smaller than the guess: it shrinks, to min and no further
            handle.reset(config);
            handle.lastBytesRead(1);
            handle.readComplete();
        }
        assertThat(handle.guess()).as("after many 1-byte reads").isEqualTo(RECEIVE_MIN);
        for (int i = 0; i < 100; i++) { // reads that fill the buffer: it grows, to max and no further
            handle.reset(config);
            int guess = handle.guess();
            handle.attemptedBytesRead(guess);
            handle.lastBytesRead(guess);
            handle.readComplete();
        }
        assertThat(handle.guess()).as("after many full reads").isEqualTo(RECEIVE_MAX);
    }

    @ParameterizedTest
    @EnumSource(TransportKind.class)
    void autoBuffersKeepKernelAutotuningAndOffLeavesOptionsOff(TransportKind kind) throws Exception {
        start(kind);
        SocketOptions options = SocketOptions.of(AUTO, kind, "upstream");

        assertThat(options.options()).doesNotContainKeys(ChannelOption.SO_RCVBUF, ChannelOption.SO_SNDBUF);
        assertThat(options.unsupported()).isEmpty();
        Pair untouched = connect(kind, null, null);
        Pair auto = connect(kind, options, options);

        // Setting SO_RCVBUF / SO_SNDBUF at all locks the size (SOCK_*BUF_LOCK): same as untouched = not set.
        assertThat(auto.accepted().config().getOption(ChannelOption.SO_RCVBUF))
                .isEqualTo(untouched.accepted().config().getOption(ChannelOption.SO_RCVBUF))
                .isNotEqualTo(readBack(kind, RCVBUF, "rmem_max"));
        assertThat(auto.accepted().config().getOption(ChannelOption.SO_SNDBUF))
                .isEqualTo(untouched.accepted().config().getOption(ChannelOption.SO_SNDBUF));
        assertThat(auto.connected().config().getOption(ChannelOption.SO_RCVBUF))
                .isEqualTo(untouched.connected().config().getOption(ChannelOption.SO_RCVBUF));
        assertThat(auto.connected().config().getOption(ChannelOption.SO_SNDBUF))
                .isEqualTo(untouched.connected().config().getOption(ChannelOption.SO_SNDBUF));
        for (Channel channel : List.of(auto.accepted(), auto.connected())) {
            ChannelConfig config = channel.config();
            assertThat(config.getOption(ChannelOption.TCP_NODELAY)).isTrue();
            assertThat(config.getOption(ChannelOption.SO_KEEPALIVE)).as("tcp-keepalive = off").isFalse();
            if (kind.isNative()) {
                assertThat(config.getOption(SocketOptions.TCP_USER_TIMEOUT)).as("user-timeout = off").isZero();
                assertThat(config.getOption(SocketOptions.TCP_NOTSENT_LOWAT)).as("notsent-lowat = off").isZero();
            }
            assertThat(config.getOption(ChannelOption.WRITE_BUFFER_WATER_MARK).high()).isEqualTo(64 * 1024);
            assertThat(onLoop(channel, () -> channel.unsafe().recvBufAllocHandle().guess())).isEqualTo(2048);
        }
    }

    @ParameterizedTest
    @EnumSource(TransportKind.class)
    void keepaliveOffSetsNoTimingOption(TransportKind kind) {
        assertThat(SocketOptions.of(AUTO, kind, "downstream").options().keySet())
                .extracting(ChannelOption::name)
                .noneMatch(name -> name.contains("KEEPIDLE") || name.contains("KEEPINTVL") || name.contains("KEEPCNT")
                        || name.contains("KEEPINTERVAL") || name.contains("KEEPCOUNT"))
                .noneMatch(name -> name.contains("USER_TIMEOUT") || name.contains("NOTSENT_LOWAT"));
        assertThat(SocketOptions.of(AUTO, kind, "downstream").options().keySet())
                .as("nothing a new socket already has: keepalive off, TCP_NODELAY on (Netty's constructor)")
                .doesNotContain(ChannelOption.SO_KEEPALIVE, ChannelOption.TCP_NODELAY);
    }

    @Test
    void nioReportsUserTimeoutAndNotsentLowatAsUnsupported() {
        assertThat(SocketOptions.of(TUNED, TransportKind.NIO, "downstream").unsupported())
                .containsExactly("downstream.user-timeout", "downstream.notsent-lowat");
        assertThat(SocketOptions.of(TUNED, TransportKind.NIO, "upstream").unsupported())
                .containsExactly("upstream.user-timeout", "upstream.notsent-lowat");
        assertThat(SocketOptions.of(TUNED, TransportKind.NIO, "upstream").options().keySet())
                .as("not set half-way either")
                .doesNotContain(SocketOptions.TCP_USER_TIMEOUT, SocketOptions.TCP_NOTSENT_LOWAT);
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "IO_URING"})
    void nativeTransportsReportNothingUnsupported(TransportKind kind) {
        assertThat(SocketOptions.of(TUNED, kind, "downstream").unsupported()).isEmpty();
        assertThat(SocketOptions.of(TUNED, kind, "upstream").unsupported()).isEmpty();
    }

    @ParameterizedTest
    @EnumSource(TransportKind.class)
    void keepaliveIdleLimitIsTheKernels(TransportKind kind) throws Exception {
        // ConfigLoader caps tcp-keepalive.idle at 32767s because the kernel refuses more (MAX_TCP_KEEPIDLE):
        // an idle it refused would fail the listener's bind or every accepted connection's initializer.
        start(kind);
        Pair pair = connect(kind, null, null);
        // Where the gateway sets it: the listening socket on native, each accepted socket on NIO.
        ChannelConfig target = kind.isNative() ? pair.listener().config() : pair.accepted().config();

        setOwn(kind, SocketOptions.of(keepaliveIdle(32767), kind, "downstream"), target);
        assertThat(keepalive(kind, target)).startsWith(32767);

        assertThatThrownBy(() -> setOwn(kind, SocketOptions.of(keepaliveIdle(32768), kind, "downstream"), target))
                .isInstanceOf(ChannelException.class);
    }

    private static void setOwn(TransportKind kind, SocketOptions options, ChannelConfig config) {
        if (kind.isNative()) {
            options.applyToListener(config);
        } else {
            options.applyToAccepted(config);
        }
    }

    /**
     * A reload sets the listener's options on the live listening socket: connections accepted after it carry
     * the new ones, keepalive switched off included (the listener must be told off, not left alone); the
     * connection accepted before keeps its own.
     */
    @ParameterizedTest
    @EnumSource(TransportKind.class)
    void listenerOptionsSetOnALiveListenerReachOnlyConnectionsAcceptedAfter(TransportKind kind) throws Exception {
        start(kind);
        SocketOptions first = SocketOptions.of(TUNED, kind, "downstream");
        Listener listener = Listener.bind(loops, new InetSocketAddress("127.0.0.1", 0), 128,
                new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel child) { // nothing set here: only what is inherited
                        accepted.add(child);
                    }
                }, null, first);
        channels.addAll(listener.channels());
        Channel before = acceptOne(listener);

        SocketSettings reloaded = new SocketSettings(RCVBUF, SNDBUF, true, null, Duration.ofMillis(3000), 8 * 1024,
                HIGH_WATER, LOW_WATER, RECEIVE_MIN, RECEIVE_INITIAL, RECEIVE_MAX);
        listener.apply(SocketOptions.of(reloaded, kind, "downstream"));
        Channel after = acceptOne(listener);

        if (kind.isNative()) {
            assertThat(before.config().getOption(ChannelOption.SO_KEEPALIVE)).as("accepted before").isTrue();
            assertThat(keepalive(kind, before.config())).containsExactly(KEEPIDLE, KEEPINTVL, KEEPCNT);
            assertThat(before.config().getOption(SocketOptions.TCP_USER_TIMEOUT)).isEqualTo(USER_TIMEOUT_MS);
            assertThat(after.config().getOption(ChannelOption.SO_KEEPALIVE)).as("accepted after").isFalse();
            assertThat(after.config().getOption(SocketOptions.TCP_USER_TIMEOUT)).isEqualTo(3000);
            assertThat(after.config().getOption(SocketOptions.TCP_NOTSENT_LOWAT)).isEqualTo(8 * 1024);
        } else {
            assertThat(after.config().getOption(ChannelOption.SO_KEEPALIVE)).as("NIO: nothing is inherited")
                    .isFalse();
            assertThat(before.config().getOption(ChannelOption.SO_KEEPALIVE)).isFalse();
        }
    }

    private Channel acceptOne(Listener listener) throws Exception {
        Channel connected = new Bootstrap()
                .group(loops.loops().get(0))
                .channelFactory(loops.transport().socketChannelFactory(SocketProtocolFamily.INET))
                .handler(new ChannelInboundHandlerAdapter())
                .connect(listener.address()).sync().channel();
        channels.add(connected);
        Channel child = accepted.poll(10, TimeUnit.SECONDS);
        assertThat(child).as("accepted connection").isNotNull();
        channels.add(child);
        return child;
    }

    private static SocketSettings keepaliveIdle(int seconds) {
        return new SocketSettings(0, 0, true, new SocketSettings.TcpKeepalive(Duration.ofSeconds(seconds),
                Duration.ofSeconds(KEEPINTVL), KEEPCNT), Duration.ZERO, 0, 64 * 1024, 32 * 1024, 64, 2048, 64 * 1024);
    }

    /** Idle, interval, count as the transport reads them: the generic options on native, the JDK's on NIO. */
    private static List<Integer> keepalive(TransportKind kind, ChannelConfig config) {
        if (kind.isNative()) {
            return List.of(config.getOption(SocketOptions.TCP_KEEPIDLE), config.getOption(SocketOptions.TCP_KEEPINTVL),
                    config.getOption(SocketOptions.TCP_KEEPCNT));
        }
        return List.of(config.getOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE)),
                config.getOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL)),
                config.getOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT)));
    }

    private static List<Integer> namedKeepalive(TransportKind kind, ChannelConfig config) {
        return List.of(config.getOption(named(kind, "TCP_KEEPIDLE")), config.getOption(named(kind, "TCP_KEEPINTVL")),
                config.getOption(named(kind, "TCP_KEEPCNT")));
    }

    /** The native transport's own named option, an independent path to the same getsockopt. */
    private static ChannelOption<Integer> named(TransportKind kind, String name) {
        return switch (kind) {
            case EPOLL -> switch (name) {
                case "TCP_KEEPIDLE" -> EpollChannelOption.TCP_KEEPIDLE;
                case "TCP_KEEPINTVL" -> EpollChannelOption.TCP_KEEPINTVL;
                case "TCP_KEEPCNT" -> EpollChannelOption.TCP_KEEPCNT;
                case "TCP_USER_TIMEOUT" -> EpollChannelOption.TCP_USER_TIMEOUT;
                default -> throw new IllegalArgumentException(name);
            };
            case IO_URING -> switch (name) {
                case "TCP_KEEPIDLE" -> IoUringChannelOption.TCP_KEEPIDLE;
                case "TCP_KEEPINTVL" -> IoUringChannelOption.TCP_KEEPINTVL;
                case "TCP_KEEPCNT" -> IoUringChannelOption.TCP_KEEPCNT;
                case "TCP_USER_TIMEOUT" -> IoUringChannelOption.TCP_USER_TIMEOUT;
                default -> throw new IllegalArgumentException(name);
            };
            case NIO -> throw new IllegalArgumentException("NIO has no named " + name);
        };
    }

    /** What getsockopt(2) reports for SO_RCVBUF / SO_SNDBUF set to {@code requested}: capped, doubled. */
    static int doubled(int requested, String sysctl) throws IOException {
        int max = Integer.parseInt(ProcFiles.read(Path.of("/proc/sys/net/core", sysctl)).trim());
        return 2 * Math.min(requested, max);
    }

    /**
     * SO_RCVBUF / SO_SNDBUF as the transport reads it back: the kernel's doubled value on native, half of it
     * on NIO (the JDK halves these two on Linux so that get returns what set was given).
     */
    private static int readBack(TransportKind kind, int requested, String sysctl) throws IOException {
        return kind.isNative() ? doubled(requested, sysctl) : doubled(requested, sysctl) / 2;
    }

    private static <T> T onLoop(Channel channel, Callable<T> task) throws Exception {
        return channel.eventLoop().submit(task).get(5, TimeUnit.SECONDS);
    }
}
