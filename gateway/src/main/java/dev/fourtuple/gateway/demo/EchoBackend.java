package dev.fourtuple.gateway.demo;

import dev.fourtuple.gateway.transport.EventLoops;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslContext;
import java.net.InetSocketAddress;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * A small backend that answers what it is asked, for demos, tests and benchmarks:
 * <ul>
 *   <li>{@code GET /ws} with {@code Upgrade: websocket}: echoes every frame (an upgrade request to any other
 *       path is answered as a plain request, without upgrading).</li>
 *   <li>{@code GET /poll?wait=MILLIS}: answers after that long (a long-poll).</li>
 *   <li>{@code GET /bytes?n=N}: streams N bytes of the pattern {@code i % 251}, honouring backpressure.</li>
 *   <li>{@code GET /status/CODE}: answers with that status.</li>
 *   <li>{@code GET /close}: closes the connection without answering.</li>
 *   <li>a request with a body: streams the body back as it arrives (chunked).</li>
 *   <li>any other request: a text page listing the request line and headers as received.</li>
 * </ul>
 * Every response carries {@code X-Backend: NAME}.
 */
public final class EchoBackend implements AutoCloseable {
    private final String name;
    private final EventLoops loops;
    private final Channel channel;
    private final ChannelGroup connections;
    private final AtomicLong accepted;
    private final AtomicBoolean closed = new AtomicBoolean();

    private EchoBackend(String name, EventLoops loops, Channel channel, ChannelGroup connections,
            AtomicLong accepted) {
        this.name = name;
        this.loops = loops;
        this.channel = channel;
        this.connections = connections;
        this.accepted = accepted;
    }

    /** Starts a backend with its own event loops of the given transport. */
    public static EchoBackend start(InetSocketAddress address, String name, TransportKind transport, int threads)
            throws InterruptedException {
        return start(address, name, transport, threads, null);
    }

    /**
     * As {@link #start(InetSocketAddress, String, TransportKind, int)}, speaking TLS with {@code tls} (a server
     * context) when it is not null: an https and wss backend. The context stays the caller's.
     */
    public static EchoBackend start(InetSocketAddress address, String name, TransportKind transport, int threads,
            @Nullable SslContext tls) throws InterruptedException {
        AtomicLong accepted = new AtomicLong();
        EventLoops loops = EventLoops.start(transport, threads, "echo-" + name);
        ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
        try {
            Channel channel = new ServerBootstrap()
                    .group(loops.group())
                    .channelFactory(transport.serverChannelFactory(address.getAddress()))
                    .option(ChannelOption.SO_BACKLOG, 4096)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            connections.add(ch);
                            accepted.incrementAndGet();
                            if (tls != null) {
                                ch.pipeline().addLast("tls", tls.newHandler(ch.alloc()));
                            }
                            ch.pipeline()
                                    .addLast("codec", new HttpServerCodec())
                                    .addLast("echo", new EchoBackendHandler(name));
                        }
                    })
                    .bind(address).sync().channel();
            return new EchoBackend(name, loops, channel, connections, accepted);
        } catch (Exception e) { // also the IOException a failed bind() throws unchecked
            loops.shutdown(Duration.ofSeconds(2));
            throw e;
        }
    }

    public String name() {
        return name;
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** Connections accepted so far (shows pooling: fewer than requests). */
    public long acceptedConnections() {
        return accepted.get();
    }

    /** Connections open to this backend now. */
    public int openConnections() {
        return connections.size();
    }

    /** Stops accepting and closes every connection (a backend crash, as far as the gateway can tell). */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            channel.close().syncUninterruptibly();
            // Close every connection before the loops stop: a loop shut down with channels still open can
            // leave their sockets established, which is a hung backend, not a dead one.
            connections.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
            loops.shutdown(Duration.ofSeconds(2));
        }
    }
}
