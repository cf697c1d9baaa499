package dev.fourtuple.gateway.testing;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/**
 * A TLS client on BoringSSL (netty-tcnative), for what the JDK's client does not show: whether a session was
 * resumed. One instance keeps one client context, whose session cache (keyed by host and port) holds the
 * tickets of earlier connections, so a second {@link #get} to the same place offers the first one's ticket.
 */
public final class TlsClientProbe implements AutoCloseable {
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final SslContext context;

    /** What one connection saw. */
    public record Outcome(String response, boolean reused, String protocol) {
    }

    public TlsClientProbe(TestCa ca, String protocol) throws SSLException {
        this.context = SslContextBuilder.forClient().sslProvider(SslProvider.OPENSSL)
                .trustManager(ca.root()).protocols(protocol).build();
    }

    /** Connects as {@code serverName}, sends one {@code GET path} with Connection: close, reads to the end. */
    public Outcome get(InetSocketAddress address, String serverName, String path) throws Exception {
        CompletableFuture<String> response = new CompletableFuture<>();
        StringBuilder received = new StringBuilder();
        SslHandler[] tls = new SslHandler[1];
        Channel channel = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        tls[0] = context.newHandler(ch.alloc(), serverName, address.getPort());
                        ch.pipeline().addLast(tls[0], new SimpleChannelInboundHandler<ByteBuf>() {
                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) {
                                received.append(msg.toString(StandardCharsets.ISO_8859_1));
                            }

                            @Override
                            public void channelInactive(ChannelHandlerContext ctx) {
                                response.complete(received.toString());
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                response.completeExceptionally(cause);
                                ctx.close();
                            }
                        });
                    }
                })
                .connect(address).sync().channel();
        tls[0].handshakeFuture().get(10, TimeUnit.SECONDS);
        boolean reused = io.netty.handler.ssl.SessionReuse.reused(tls[0].engine());
        String protocol = tls[0].engine().getSession().getProtocol();
        channel.writeAndFlush(Unpooled.copiedBuffer("GET " + path + " HTTP/1.1\r\nHost: " + serverName
                + "\r\nConnection: close\r\n\r\n", StandardCharsets.US_ASCII));
        return new Outcome(response.get(10, TimeUnit.SECONDS), reused, protocol);
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        io.netty.util.ReferenceCountUtil.release(context);
    }
}
