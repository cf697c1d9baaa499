package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.SendProxyProtocol;
import dev.fourtuple.gateway.config.UpstreamSettings;
import dev.fourtuple.gateway.timeout.TimerWheel;
import dev.fourtuple.gateway.transport.EventLoops;
import dev.fourtuple.gateway.transport.PerLoop;
import dev.fourtuple.gateway.transport.SocketOptions;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import io.netty.util.concurrent.Future;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * Hands out connections to backends: a pooled keep-alive connection of the caller's loop when there is one,
 * else a new connection made on the caller's loop. Either way the connection lives on the same loop as the
 * downstream connection that asked, so the two never hand data across threads. New connections leave from
 * the source IP the {@link PortLedger} picks.
 */
public final class UpstreamConnector {
    /** Told how the acquire went; called on the caller's loop, possibly before acquire returns. */
    public interface Callback {
        void onConnected(UpstreamConnectionHandler connection);

        void onConnectFailed(Throwable cause);
    }

    private final PerLoop<LoopState> perLoop;
    private final UpstreamMeters meters;
    private final PortLedger ledger;
    private final TransportKind transport;
    /** One close listener per four-tuple slot, shared by its connections: a connection adds no object. */
    private final Map<UpstreamTuple, ChannelFutureListener> closeListeners = new ConcurrentHashMap<>();

    /** A loop's pool and connect template. Confined to the loop; a reload swaps the template on the loop. */
    private static final class LoopState {
        final UpstreamPool pool;
        Bootstrap bootstrap;

        LoopState(UpstreamPool pool, Bootstrap bootstrap) {
            this.pool = pool;
            this.bootstrap = bootstrap;
        }
    }

    public UpstreamConnector(EventLoops loops, PerLoop<TimerWheel> wheels, UpstreamSettings settings,
            Duration connectTimeout, PortLedger ledger, UpstreamMeters meters) {
        this.meters = meters;
        this.ledger = ledger;
        this.transport = loops.transport();
        this.perLoop = loops.perLoop(loop -> new LoopState(new UpstreamPool(wheels.get(loop),
                settings.keepaliveMaxIdle(), settings.keepaliveIdleTimeout().toNanos()),
                template(loop, settings, connectTimeout)));
    }

    /**
     * The connect template of a loop: the configured socket options, then the options the proxy owns
     * (AUTO_READ, half-closure: backpressure and half-close depend on them, so no setting overrides them).
     * IP_BIND_ADDRESS_NO_PORT and IP_LOCAL_PORT_RANGE only on a native transport (NIO cannot set them; the
     * ledger then caps per source).
     */
    private Bootstrap template(EventLoop loop, UpstreamSettings settings, Duration connectTimeout) {
        Bootstrap bootstrap = new Bootstrap().group(loop); // the channel factory is per backend: its family
        SocketOptions.of(settings.socket(), transport, "upstream").applyTo(bootstrap);
        bootstrap.option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) connectTimeout.toMillis());
        if (transport.isNative()) {
            UpstreamSocketOptions.apply(bootstrap, settings.bindAddressNoPort(), settings.localPortRange());
        }
        return bootstrap;
    }

    /**
     * Applies reloaded settings to new connections on every loop, and closes idle pooled connections no
     * backend of {@code clusters} would take (backends that are gone, TLS settings that changed). Connections
     * in use are left alone.
     */
    public void reconfigure(UpstreamSettings settings, Duration connectTimeout, Collection<Cluster> clusters) {
        Set<PoolKey> backends = new HashSet<>();
        for (Cluster cluster : clusters) {
            for (Backend backend : cluster.backends()) {
                backends.add(backend.poolKey());
            }
        }
        for (TimerWheel wheel : perLoopWheels()) {
            EventLoop loop = wheel.loop();
            loop.execute(() -> {
                LoopState state = perLoop.get(loop);
                state.bootstrap = template(loop, settings, connectTimeout);
                state.pool.reconfigure(settings.keepaliveMaxIdle(), settings.keepaliveIdleTimeout().toNanos());
                state.pool.closeIdleExcept(backends);
            });
        }
    }

    /**
     * Resets every idle pooled connection (stopping): nothing is in flight on them, and a reset leaves no
     * TIME_WAIT on their tuples, as a FIN from us would.
     */
    public void closeIdle() {
        for (TimerWheel wheel : perLoopWheels()) {
            EventLoop loop = wheel.loop();
            loop.execute(() -> perLoop.get(loop).pool.closeIdleExcept(Set.of()));
        }
    }

    private List<TimerWheel> perLoopWheels() {
        List<TimerWheel> wheels = new ArrayList<>();
        for (LoopState state : perLoop.all()) {
            wheels.add(state.pool.wheel());
        }
        return wheels;
    }

    private ChannelFutureListener closeListener(UpstreamTuple tuple) {
        return closed -> {
            ledger.closed(tuple);
            meters.closed();
        };
    }

    /**
     * Takes over a connection to {@code backend} that a predecessor process opened (a tunnel moving in): it is
     * counted on its four-tuple slot here, and frees it when it closes, as if it had been connected here. The
     * slot is the backend's tuple of the socket's source address, or its kernel-chosen one.
     */
    public void adopt(Channel channel, Backend backend) {
        InetAddress local = ((InetSocketAddress) channel.localAddress()).getAddress();
        UpstreamTuple tuple = null;
        for (UpstreamTuple candidate : backend.tuples()) {
            if (local.equals(candidate.source()) || tuple == null && candidate.source() == null) {
                tuple = candidate;
            }
        }
        if (tuple == null) {
            tuple = ledger.tuple(local, backend.address());
        }
        ledger.adopt(tuple);
        meters.opened();
        backend.connected();
        channel.closeFuture().addListener(closeListeners.computeIfAbsent(tuple, this::closeListener));
    }

    /** A pooled connection to the backend if the loop has one, else a new one. */
    public void acquire(EventLoop loop, Backend backend, Callback callback) {
        acquire(loop, backend, null, callback);
    }

    /**
     * As {@link #acquire(EventLoop, Backend, Callback)} for the client connection {@code client}: whose
     * addresses a PROXY protocol header carries when the backend's cluster sends one (then never pooled).
     */
    public void acquire(EventLoop loop, Backend backend, @Nullable Channel client, Callback callback) {
        if (!backend.pooled()) {
            connect(loop, backend, client, callback);
            return;
        }
        UpstreamConnectionHandler pooled = perLoop.get(loop).pool.poll(backend.poolKey());
        if (pooled != null) {
            meters.reused();
            callback.onConnected(pooled);
            return;
        }
        connect(loop, backend, client, callback);
    }

    /** As {@link #connect(EventLoop, Backend, Channel, Callback)} for no client (no PROXY header addresses). */
    public void connect(EventLoop loop, Backend backend, Callback callback) {
        connect(loop, backend, null, callback);
    }

    /**
     * Always a new connection (also used to retry after a pooled one turned out stale), from the source with
     * the most free ports towards the backend. When the kernel has no port left on that tuple
     * (EADDRNOTAVAIL), the tuple is marked full and the next source is tried; when no tuple has room the
     * callback gets a {@link TuplesExhaustedException}.
     */
    public void connect(EventLoop loop, Backend backend, @Nullable Channel client, Callback callback) {
        UpstreamTuple tuple = ledger.acquire(backend.tuples());
        if (tuple == null) {
            callback.onConnectFailed(new TuplesExhaustedException(backend, ledger.full(backend.tuples())));
            return;
        }
        BackendTls tls = backend.tls();
        if (tls != null && !tls.retainForConnect()) {
            ledger.release(tuple);
            callback.onConnectFailed(new ConnectException(backend + ": its cluster's TLS settings were replaced "
                    + "by a reload while the request was under way"));
            return;
        }
        LoopState state = perLoop.get(loop);
        UpstreamResponseDecoder decoder = UpstreamResponseDecoder.create();
        UpstreamConnectionHandler handler = new UpstreamConnectionHandler(state.pool, backend, decoder);
        Bootstrap bootstrap = state.bootstrap.clone()
                .channelFactory(transport.socketChannelFactory(backend.address().getAddress()))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ChannelPipeline pipeline = ch.pipeline();
                        if (backend.sendProxyProtocol() != SendProxyProtocol.OFF) {
                            ProxyHeaderWriter.addTo(pipeline, backend.sendProxyProtocol(), client); // before TLS
                        }
                        if (tls != null) {
                            pipeline.addLast(UpstreamConnectionHandler.TLS, tls.newHandler(ch, backend.address()));
                        }
                        pipeline.addLast(UpstreamConnectionHandler.ENCODER, new HttpRequestEncoder())
                                .addLast(UpstreamConnectionHandler.DECODER, decoder)
                                .addLast(UpstreamConnectionHandler.NAME, handler);
                    }
                });
        InetAddress source = tuple.source();
        ChannelFuture future = source == null
                ? bootstrap.connect(backend.address())
                : bootstrap.connect(backend.address(), new InetSocketAddress(source, 0));
        future.addListener((ChannelFuture f) -> {
            if (tls != null) {
                tls.connectDone(); // the engine, if one was made, holds its own reference
            }
            if (f.isSuccess()) {
                ProxyHeaderWriter.writeHeader(f.channel()); // first of all, when the cluster sends one
                meters.opened();
                f.channel().closeFuture().addListener(closeListeners.computeIfAbsent(tuple, this::closeListener));
                SslHandler ssl = tls == null ? null : f.channel().pipeline().get(SslHandler.class);
                if (tls == null) {
                    backend.connected();
                    callback.onConnected(handler);
                } else if (ssl == null) {
                    handler.close(); // closed under us before it was handed out: never without its handshake
                    callback.onConnectFailed(new ConnectException(backend + ": closed before the TLS handshake"));
                } else {
                    // Connected only once the handshake is done: no request byte goes out before the backend
                    // is authenticated, so a failure here is a failed connect (the next backend may be tried).
                    ssl.handshakeFuture().addListener(h -> handshaken(h, tls, backend, handler, callback));
                }
                return;
            }
            ledger.release(tuple);
            if (PortExhaustion.isCause(f.cause())) {
                ledger.markFull(tuple);
                meters.portsExhausted();
                connect(loop, backend, client, callback); // the next source, or TuplesExhaustedException
            } else {
                backend.connectFailed();
                meters.connectFailed();
                callback.onConnectFailed(f.cause());
            }
        });
    }

    /**
     * The TLS handshake of a new connection ended. On failure the SslHandler closes the channel once its alert
     * is written (RFC 8446 §6.2: the backend learns why; the close listener returns the tuple); the caller
     * learns why too: a handshake that ran out of connect-timeout is a connect timeout, anything else a
     * {@link BackendHandshakeException}.
     */
    private void handshaken(Future<?> handshake, BackendTls tls, Backend backend, UpstreamConnectionHandler handler,
            Callback callback) {
        if (handshake.isSuccess()) {
            backend.connected();
            callback.onConnected(handler);
            return;
        }
        backend.connectFailed();
        meters.connectFailed();
        meters.handshakeFailed();
        Throwable cause = handshake.cause();
        String serverName = tls.serverName(backend.address());
        if (cause instanceof SslHandshakeTimeoutException) {
            ConnectTimeoutException timeout = new ConnectTimeoutException("TLS handshake (server name " + serverName
                    + ") not done within connect-timeout (" + handler.channel().config().getConnectTimeoutMillis()
                    + " ms)");
            timeout.initCause(cause);
            callback.onConnectFailed(timeout);
        } else {
            callback.onConnectFailed(new BackendHandshakeException(serverName, cause));
        }
    }
}
