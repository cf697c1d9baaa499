package dev.fourtuple.gateway.testing;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLSession;
import java.util.concurrent.TimeUnit;

/**
 * A TLS backend that answers one WebSocket upgrade with a 101 and then speaks raw bytes: "ping" gets "pong";
 * when its input ends (the gateway relayed the client's FIN) it records whether a TLS close_notify came
 * before the FIN, writes {@link #GOODBYE} (the half-closed connection must still carry it to the client), then
 * closes. Half-closure is on, so a FIN is seen as such (RFC 9293 §3.6). It also records the SNI name it was sent.
 */
public final class TlsTunnelBackend implements AutoCloseable {
    /** RFC 6455 §1.3's example key, and the accept value it must produce. */
    public static final String UPGRADE = "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    private static final String SWITCH = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            + "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    public static final String GOODBYE = "goodbye after your FIN";

    private final EventLoopGroup group;
    private final Channel server;
    private final CompletableFuture<Boolean> closeNotifyBeforeFin = new CompletableFuture<>();
    private final CompletableFuture<List<String>> serverNames = new CompletableFuture<>();

    private TlsTunnelBackend(SslContext tls) throws InterruptedException {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(tls.newHandler(ch.alloc())).addLast(new Script());
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    }

    public static TlsTunnelBackend start(SslContext tls) throws InterruptedException {
        return new TlsTunnelBackend(tls);
    }

    public String hostPort() {
        return "127.0.0.1:" + ((InetSocketAddress) server.localAddress()).getPort();
    }

    /** Completes when the input ended: true when a close_notify arrived before the FIN. */
    public CompletableFuture<Boolean> sawCloseNotifyBeforeFin() {
        return closeNotifyBeforeFin;
    }

    /** The SNI host names the client sent in its ClientHello (RFC 6066 §3), once the handshake is done. */
    public CompletableFuture<List<String>> requestedServerNames() {
        return serverNames;
    }

    private final class Script extends ChannelInboundHandlerAdapter {
        private final StringBuilder head = new StringBuilder();
        private boolean switched;
        private boolean closeNotify;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            String text = ((ByteBuf) msg).toString(StandardCharsets.ISO_8859_1);
            ReferenceCountUtil.release(msg);
            if (!switched) {
                head.append(text);
                if (head.indexOf("\r\n\r\n") >= 0) {
                    switched = true;
                    ctx.writeAndFlush(Unpooled.copiedBuffer(SWITCH, StandardCharsets.ISO_8859_1));
                }
            } else if (text.contains("ping")) {
                ctx.writeAndFlush(Unpooled.copiedBuffer("pong", StandardCharsets.ISO_8859_1));
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent handshake && handshake.isSuccess()) {
                SSLSession session = ctx.pipeline().get(SslHandler.class).engine().getSession();
                List<String> names = new ArrayList<>();
                if (session instanceof ExtendedSSLSession extended) {
                    for (SNIServerName name : extended.getRequestedServerNames()) {
                        names.add(name instanceof SNIHostName host ? host.getAsciiName() : name.toString());
                    }
                }
                serverNames.complete(names);
            } else if (evt instanceof SslCloseCompletionEvent event && event.isSuccess()) {
                closeNotify = true;
            } else if (evt instanceof ChannelInputShutdownEvent) {
                closeNotifyBeforeFin.complete(closeNotify);
                ctx.writeAndFlush(Unpooled.copiedBuffer(GOODBYE, StandardCharsets.ISO_8859_1))
                        .addListener(ChannelFutureListener.CLOSE);
            }
            ReferenceCountUtil.release(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            closeNotifyBeforeFin.completeExceptionally(cause);
            ctx.close();
        }
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
