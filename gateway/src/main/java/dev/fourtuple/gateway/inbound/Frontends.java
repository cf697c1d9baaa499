package dev.fourtuple.gateway.inbound;

import dev.fourtuple.gateway.admission.AdmissionController;
import dev.fourtuple.gateway.config.ProxyProtocolSettings;
import dev.fourtuple.gateway.connection.ConnectionRegistry;
import dev.fourtuple.gateway.metrics.ProblemLog;
import dev.fourtuple.gateway.timeout.TimerWheel;
import dev.fourtuple.gateway.tls.ServerTls;
import dev.fourtuple.gateway.transport.PerLoop;
import dev.fourtuple.gateway.tunnel.TunnelMeters;
import dev.fourtuple.gateway.upstream.ClusterClient;
import dev.fourtuple.gateway.upstream.UpstreamConnector;
import java.net.InetSocketAddress;
import io.netty.channel.ChannelFuture;
import io.netty.util.concurrent.Future;
import java.time.Duration;
import dev.fourtuple.gateway.connection.Departure;
import dev.fourtuple.gateway.transport.TransportKind;
import dev.fourtuple.gateway.tunnel.Tunnel;
import dev.fourtuple.gateway.tunnel.TunnelState;
import dev.fourtuple.gateway.upstream.Backend;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The client side of the gateway over all its listeners: makes each listener's initializer, and acts on every
 * client connection at once (drain, the end of a reload-grace, the stop), through each loop's
 * {@link ConnectionRegistry}.
 */
public final class Frontends {
    private final AtomicReference<FrontendSettings> settings;
    private final PerLoop<TimerWheel> wheels;
    private final PerLoop<ConnectionRegistry> connections;
    private final UpstreamConnector connector;
    private final ClusterClient clusterClient;
    private final InboundMeters meters;
    private final TunnelMeters tunnelMeters;
    private final ProblemLog problems;
    private final AdmissionController admission;
    private volatile boolean draining;
    /** Each listener's initializer, by name: a connection taken over idle rejoins its listener's. */
    private final Map<String, FrontendInitializer> initializers = new ConcurrentHashMap<>();
    /** Round robin over the loops' wheels for connections taken over from a predecessor. */
    private final List<TimerWheel> wheelList;
    private final AtomicInteger nextLoop = new AtomicInteger();

    public Frontends(AtomicReference<FrontendSettings> settings, PerLoop<TimerWheel> wheels,
            PerLoop<ConnectionRegistry> connections, UpstreamConnector connector, InboundMeters meters,
            TunnelMeters tunnelMeters, ProblemLog problems, AdmissionController admission) {
        this.settings = settings;
        this.wheels = wheels;
        this.wheelList = List.copyOf(wheels.all());
        this.connections = connections;
        this.connector = connector;
        this.clusterClient = new ClusterClient(connector, problems);
        this.meters = meters;
        this.tunnelMeters = tunnelMeters;
        this.problems = problems;
        this.admission = admission;
    }

    /** The initializer of one listener's connections; {@code tls} null for plaintext. */
    public FrontendInitializer initializer(ListenerIdentity listener, @Nullable ServerTls tls) {
        return initializer(listener, tls, ProxyProtocolSettings.OFF);
    }

    /** As {@link #initializer(ListenerIdentity, ServerTls)}, on a listener behind a PROXY protocol balancer. */
    public FrontendInitializer initializer(ListenerIdentity listener, @Nullable ServerTls tls,
            ProxyProtocolSettings proxyProtocol) {
        Frontend frontend = new Frontend(listener, settings::get, wheels, connections, clusterClient, meters,
                tunnelMeters, problems, () -> draining);
        FrontendInitializer initializer = new FrontendInitializer(frontend, settings, admission, tls, proxyProtocol);
        initializers.put(listener.name(), initializer);
        return initializer;
    }

    /**
     * Resumes a plaintext tunnel a predecessor process passed on (its client and backend sockets), on the next
     * loop; {@code done} is told, on that loop, whether it runs here now. {@code backend} is this process's
     * backend at that address (null when this config has none: the tunnel still runs, counted nowhere).
     */
    public void resumeTunnel(TransportKind transport, int clientFd, int backendFd, TunnelState state,
            @Nullable Backend backend, InetSocketAddress backendAddress, Consumer<Boolean> done) {
        TimerWheel wheel = nextWheel();
        EventLoop loop = wheel.loop();
        Channel down = adoptable(transport.adoptSocket(clientFd));
        Channel up = adoptable(transport.adoptSocket(backendFd));
        loop.execute(() -> { // both registered from the loop itself: no hop between them
            ChannelFuture d = loop.register(down);
            ChannelFuture u = loop.register(up);
            if (!d.isDone() || !u.isDone()) {
                d.addListener(x -> u.addListener(y -> loop.execute(() -> resumeTunnel(d, u, state, backend,
                        backendAddress, wheel, done))));
                return;
            }
            resumeTunnel(d, u, state, backend, backendAddress, wheel, done);
        });
    }

    private void resumeTunnel(ChannelFuture d, ChannelFuture u, TunnelState state, @Nullable Backend backend,
            InetSocketAddress backendAddress, TimerWheel wheel, Consumer<Boolean> done) {
        Channel down = d.channel();
        Channel up = u.channel();
        if (!d.isSuccess() || !u.isSuccess()) {
            down.close();
            up.close();
            done.accept(false);
            return;
        }
        meters.opened(down);
        Runnable onClose = () -> { };
        if (backend != null) {
            connector.adopt(up, backend);
            backend.started();
            onClose = backend::finished;
        }
        Tunnel.resume(down, up, state, backendAddress, wheel, connections.get(wheel.loop()),
                settings.get().configVersion(), settings.get().timeouts().tunnelIdle().toNanos(), tunnelMeters,
                onClose);
        done.accept(true);
    }

    /**
     * Resumes a plaintext client connection a predecessor passed on idle between requests, on the next loop, in
     * its listener's pipeline; what the predecessor read of its next request is decoded first.
     */
    public void resumeIdle(TransportKind transport, int fd, IdleConnectionState state, Consumer<Boolean> done) {
        FrontendInitializer initializer = initializers.get(state.listener());
        if (initializer == null) { // before a channel is made of the socket: the caller closes it
            throw new IllegalArgumentException("no listener " + state.listener() + " here");
        }
        TimerWheel wheel = nextWheel();
        EventLoop loop = wheel.loop();
        Channel channel = adoptable(transport.adoptSocket(fd));
        channel.attr(HttpProxyHandler.RESUMED_IDLE_FOR).set(state.idleForNanos());
        channel.pipeline().addLast(initializer);
        loop.register(channel).addListener(registered -> loop.execute(() -> {
            if (!registered.isSuccess()) {
                channel.close();
                done.accept(false);
                return;
            }
            if (state.held().length > 0) {
                channel.pipeline().fireChannelRead(Unpooled.wrappedBuffer(state.held()));
                channel.pipeline().fireChannelReadComplete();
            }
            done.accept(true);
        }));
    }

    private TimerWheel nextWheel() {
        return wheelList.get(Math.floorMod(nextLoop.getAndIncrement(), wheelList.size()));
    }

    /** The options the proxy owns on every connection, as the listener and the connector set them. */
    private static Channel adoptable(Channel channel) {
        channel.config().setOption(ChannelOption.AUTO_READ, false);
        channel.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        return channel;
    }

    /**
     * A handover's sweep: offers every connection of every loop that can move now to {@code departures}, at most
     * {@code max} in all (split over the loops), then tells {@code swept} how many started moving and how many
     * connections the loops still hold. Never waits: each loop does its part when it gets to it.
     */
    public void depart(int max, Consumer<Departure> departures, BiConsumer<Integer, Integer> swept) {
        List<ConnectionRegistry> all = List.copyOf(connections.all());
        int perLoop = Math.max(1, max / all.size());
        AtomicInteger loopsLeft = new AtomicInteger(all.size());
        AtomicInteger started = new AtomicInteger();
        AtomicInteger remaining = new AtomicInteger();
        for (ConnectionRegistry registry : all) {
            registry.loop().execute(() -> {
                int[] count = {0};
                registry.forEachConnection(connection -> {
                    if (count[0] < perLoop && connection.depart(departures)) {
                        count[0]++;
                    }
                });
                started.addAndGet(count[0]);
                remaining.addAndGet(registry.size());
                if (loopsLeft.decrementAndGet() == 0) {
                    swept.accept(started.get(), remaining.get());
                }
            });
        }
    }

    /**
     * The reload to version {@code removedBy} removed {@code removed}, and its reload-grace is over: cuts, on
     * every loop, what still uses one of them under an older version. A backend that a later reload added
     * back ({@code stillConfigured}) is left alone, and so is whatever uses it.
     */
    public void cutRemovedBackends(Set<InetSocketAddress> removed, int removedBy,
            Supplier<Set<InetSocketAddress>> stillConfigured) {
        for (ConnectionRegistry registry : connections.all()) {
            registry.loop().execute(() -> {
                Set<InetSocketAddress> gone = new HashSet<>(removed);
                gone.removeAll(stillConfigured.get());
                if (gone.isEmpty()) {
                    return;
                }
                registry.forEach((connection, version) -> {
                    if (version < removedBy && connection.uses(gone)) {
                        connection.cutForRemovedBackend();
                    }
                });
            });
        }
    }

    /**
     * The health check marked {@code backend} down and its cluster says {@code on-down = close}: every tunnel to
     * it closes as a drain closes it (a Close with {@code closeCode} to each side at a frame boundary, see
     * {@link Tunnel#closeGracefully}), now, on its own loop. HTTP exchanges in flight on it are left to finish.
     */
    public void closeTunnelsTo(InetSocketAddress backend, int closeCode) {
        Set<InetSocketAddress> down = Set.of(backend);
        for (TimerWheel wheel : wheels.all()) {
            ConnectionRegistry registry = connections.get(wheel.loop());
            wheel.loop().execute(() -> {
                long now = wheel.now();
                registry.forEachConnection(connection -> {
                    if (connection instanceof Tunnel && connection.uses(down)) {
                        connection.drain(now, closeCode);
                    }
                });
            });
        }
    }

    /**
     * Closes every client connection now, on its own loop, and waits up to {@code timeout} for the loops to
     * have done it: at stop, before the loops shut down, so each pipeline is torn down while its loop still
     * runs (a TLS engine is freed by its handler's removal, which a loop already shutting down may not run).
     */
    public void closeAll(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<Future<List<ChannelFuture>>> closing = new ArrayList<>();
        for (ConnectionRegistry registry : connections.all()) {
            closing.add(registry.loop().submit(() -> {
                List<ChannelFuture> closed = new ArrayList<>();
                registry.forEachConnection(connection -> connection.channels()
                        .forEach(channel -> closed.add(channel.close())));
                return closed;
            }));
        }
        for (Future<List<ChannelFuture>> submitted : closing) {
            if (submitted.awaitUninterruptibly(remainingMillis(deadline)) && submitted.isSuccess()) {
                submitted.getNow().forEach(closed -> closed.awaitUninterruptibly(remainingMillis(deadline)));
            }
        }
        // A closed channel is deregistered, and its pipeline torn down, by tasks its loop runs next: one more
        // task on each loop, awaited, runs after them.
        for (ConnectionRegistry registry : connections.all()) {
            registry.loop().submit(() -> { }).awaitUninterruptibly(remainingMillis(deadline));
        }
    }

    private static long remainingMillis(long deadlineNanos) {
        return Math.max(1, (deadlineNanos - System.nanoTime()) / 1_000_000);
    }

    /**
     * Starts draining: from now on every response says {@code Connection: close}, and connections idle
     * between requests are closed now. Requests in flight and tunnels are left to finish.
     */
    public void startDrain() {
        startDrain(Duration.ZERO, 0);
    }

    /**
     * Starts draining as {@link #startDrain()}, and closes each tunnel the way a WebSocket closes (a Close with
     * {@code closeCode} to each side at a frame boundary, see {@link dev.fourtuple.gateway.tunnel.Tunnel#closeGracefully}),
     * each at a random moment within {@code spread}, so that clients reconnect over a window, not in one storm.
     * No Close at all when {@code closeCode} is 0 (tunnels are left to end by themselves).
     */
    public void startDrain(Duration spread, int closeCode) {
        draining = true;
        long spreadNanos = spread.toNanos();
        for (TimerWheel wheel : wheels.all()) {
            ConnectionRegistry registry = connections.get(wheel.loop());
            wheel.loop().execute(() -> {
                long now = wheel.now();
                registry.forEachConnection(connection -> connection.drain(
                        now + (spreadNanos <= 0 ? 0 : ThreadLocalRandom.current().nextLong(spreadNanos)), closeCode));
            });
        }
    }
}
