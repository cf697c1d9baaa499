package dev.fourtuple.gateway.ops;

import dev.fourtuple.gateway.config.AdminSettings;
import dev.fourtuple.gateway.timeout.TimerWheel;
import dev.fourtuple.gateway.transport.EventLoops;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The admin HTTP server on its own single NIO event loop, apart from the gateway's loops and never subject to
 * admission: {@code /metrics} (Prometheus text), {@code /healthz}, {@code /readyz} (503 once draining starts),
 * {@code /status} (JSON). Pipeline of each connection:
 * {@code [guard: AdminConnectionHandler] → [codec: HttpServerCodec] → [admin: AdminRequestHandler]}: the guard
 * owns the connection (max-connections, header and idle timeouts, polite close), the request handler answers.
 * Fixed limits: {@link #MAX_REQUEST_LINE}, {@link #MAX_HEAD}, no request body.
 */
public final class AdminServer implements AutoCloseable {
    /** Longest request line in bytes; longer gets 414. */
    static final int MAX_REQUEST_LINE = 4 * 1024;
    /** Largest request head (all header lines) in bytes; larger gets 431. */
    static final int MAX_HEAD = 8 * 1024;

    static final String GUARD = "guard";
    static final String CODEC = "codec";
    static final String ADMIN = "admin";

    private final EventLoops loops;
    private final TimerWheel wheel;
    private final Channel channel;
    private final ChannelGroup connections;

    private AdminServer(EventLoops loops, TimerWheel wheel, Channel channel, ChannelGroup connections) {
        this.loops = loops;
        this.wheel = wheel;
        this.channel = channel;
        this.connections = connections;
    }

    /**
     * Binds {@code settings.listen()} and serves.
     *
     * @param metrics the Prometheus text exposition, fresh per call
     * @param status  the /status tree, fresh per call
     * @param ready   whether /readyz says 200
     */
    public static AdminServer start(AdminSettings settings, Supplier<String> metrics,
            Supplier<Map<String, Object>> status, BooleanSupplier ready) throws InterruptedException {
        InetSocketAddress address = Objects.requireNonNull(settings.listen(), "admin.listen is off");
        EventLoops loops = EventLoops.start(TransportKind.NIO, 1, "fourtuple-admin");
        TimerWheel wheel = TimerWheel.start(loops.loops().get(0));
        ChannelGroup open = new DefaultChannelGroup("admin", loops.loops().get(0));
        try {
            AdminConnections connections = new AdminConnections(wheel, settings);
            AdminRequestHandler admin = new AdminRequestHandler(metrics, status, ready);
            HttpDecoderConfig limits = new HttpDecoderConfig()
                    .setMaxInitialLineLength(MAX_REQUEST_LINE)
                    .setMaxHeaderSize(MAX_HEAD);
            Channel channel = new ServerBootstrap()
                    .group(loops.group())
                    .channelFactory(TransportKind.NIO.serverChannelFactory(address.getAddress()))
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            open.add(ch);
                            ch.pipeline()
                                    .addLast(GUARD, new AdminConnectionHandler(connections))
                                    .addLast(CODEC, new HttpServerCodec(limits))
                                    .addLast(ADMIN, admin);
                        }
                    })
                    .bind(address).sync().channel();
            return new AdminServer(loops, wheel, channel, open);
        } catch (Exception e) { // also the IOException a failed bind() throws unchecked
            wheel.stop();
            loops.shutdown(Duration.ofSeconds(2));
            throw e;
        }
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /**
     * Stops listening, closes the connections (each pipeline sees its channelInactive and releases what its
     * codec held: a loop that shuts down with channels still open may not run their inactive events), then
     * stops the loop.
     */
    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        connections.close().awaitUninterruptibly(Duration.ofSeconds(2).toMillis());
        wheel.stop();
        loops.shutdown(Duration.ofSeconds(2));
    }
}
