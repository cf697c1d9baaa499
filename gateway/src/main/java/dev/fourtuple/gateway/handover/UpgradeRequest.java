package dev.fourtuple.gateway.handover;

import dev.fourtuple.gateway.transport.EventLoops;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** {@code fourtuple upgrade}: asks the process on the handover socket to start its successor, and waits for how it went. */
public final class UpgradeRequest {
    private UpgradeRequest() {
    }

    /**
     * Sends {@code Upgrade} and waits for the outcome: once the successor has taken over, or has failed.
     *
     * @throws IOException when no process answers on {@code path}, or none answers within {@code timeout}
     */
    public static Message.Outcome send(Path path, Duration timeout) throws IOException, InterruptedException {
        EventLoops loop = EventLoops.start(TransportKind.EPOLL, 1, "fourtuple-upgrade");
        CompletableFuture<Message.Outcome> outcome = new CompletableFuture<>();
        try {
            ChannelFuture connected = new Bootstrap()
                    .group(loop.group())
                    .channel(EpollDomainSocketChannel.class)
                    .handler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            MessageCodec.addTo(ch.pipeline());
                            ch.pipeline().addLast(new SimpleChannelInboundHandler<Message>() {
                                @Override
                                protected void channelRead0(ChannelHandlerContext ctx, Message msg) {
                                    if (msg instanceof Message.Outcome answer) {
                                        outcome.complete(answer);
                                    }
                                }

                                @Override
                                public void channelInactive(ChannelHandlerContext ctx) {
                                    outcome.completeExceptionally(new IOException(
                                            "the running process closed the connection without an answer"));
                                }
                            });
                        }
                    })
                    .connect(new DomainSocketAddress(path.toString())).await();
            if (!connected.isSuccess()) {
                throw new IOException("no process answers on handover socket " + path + ": "
                        + connected.cause().getMessage());
            }
            connected.channel().writeAndFlush(new Message.Upgrade());
            try {
                return outcome.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                throw new IOException("no outcome within " + timeout + " (the handover may still be under way)");
            } catch (ExecutionException e) {
                throw new IOException(e.getCause().getMessage(), e.getCause());
            } finally {
                connected.channel().close();
            }
        } finally {
            loop.shutdown(Duration.ofSeconds(1));
        }
    }
}
