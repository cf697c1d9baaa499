package dev.fourtuple.gateway.connection;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.unix.UnixChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Quiets a connection's channels before their sockets move to another process. What sits in the kernel's
 * buffers moves with the socket; what this process holds must not stay behind. So a connection moves only
 * when it has written everything ({@link #canMove}); then a hold goes first in each pipeline, so that what is
 * still read (a read already asked for) is kept, not handled, and each channel leaves its loop (epoll
 * forgets it: nothing more is read, no hang-up acted on). What the holds kept goes along as the first bytes
 * the successor handles.
 */
public final class Quiesce {
    static final String HOLD = "handover-hold";

    private Quiesce() {
    }

    /**
     * True when the channel can move now: an open, connected, native (fd-backed) socket whose input has not
     * ended and with nothing left to write.
     */
    public static boolean canMove(Channel channel) {
        if (!channel.isActive() || !(channel instanceof UnixChannel) || !channel.isRegistered()) {
            return false;
        }
        if (channel instanceof DuplexChannel duplex && (duplex.isInputShutdown() || duplex.isOutputShutdown())) {
            return false;
        }
        ChannelOutboundBuffer outbound = channel.unsafe().outboundBuffer();
        return outbound != null && outbound.isEmpty() && channel.pipeline().get(HOLD) == null;
    }

    /**
     * Holds each channel and takes it off its loop; then, on the loop, hands {@code then} what each held (in
     * the order of {@code channels}; an empty array when nothing came), or null when a channel closed meanwhile
     * (a reset: the connection cannot move and is gone).
     */
    public static void hold(List<Channel> channels, Consumer<@Nullable List<byte[]>> then) {
        List<Hold> holds = new ArrayList<>(channels.size());
        List<ChannelFuture> deregistered = new ArrayList<>(channels.size());
        for (Channel channel : channels) {
            Hold hold = new Hold();
            channel.pipeline().addFirst(HOLD, hold);
            holds.add(hold);
        }
        for (Channel channel : channels) {
            deregistered.add(channel.deregister());
        }
        int[] left = {deregistered.size()};
        for (ChannelFuture future : deregistered) {
            future.addListener(done -> {
                if (--left[0] > 0) {
                    return;
                }
                List<byte[]> held = new ArrayList<>(channels.size());
                boolean open = true;
                for (int i = 0; i < channels.size(); i++) {
                    held.add(holds.get(i).take());
                    open &= channels.get(i).isOpen() && !holds.get(i).failed;
                }
                then.accept(open ? held : null);
            });
        }
    }

    /** Keeps every byte read and swallows every other inbound event: the handlers behind it see nothing more. */
    private static final class Hold extends ChannelInboundHandlerAdapter {
        private final List<ByteBuf> held = new ArrayList<>(0);
        private boolean failed;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ByteBuf bytes) {
                held.add(bytes);
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            ReferenceCountUtil.release(evt); // an end of input moved with the socket: the successor reads it too
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            failed = true;
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            failed = true;
        }

        @Override
        public void channelUnregistered(ChannelHandlerContext ctx) {
        }

        byte[] take() {
            int size = 0;
            for (ByteBuf bytes : held) {
                size += bytes.readableBytes();
            }
            byte[] all = new byte[size];
            int at = 0;
            for (ByteBuf bytes : held) {
                int n = bytes.readableBytes();
                bytes.getBytes(bytes.readerIndex(), all, at, n);
                at += n;
                bytes.release();
            }
            held.clear();
            return all;
        }
    }
}
