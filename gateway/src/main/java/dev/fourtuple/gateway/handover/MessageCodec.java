package dev.fourtuple.gateway.handover;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.codec.MessageToMessageCodec;
import java.io.IOException;
import java.util.List;

/** {@link Message}s as JSON in frames with a 4-byte length: what both ends of the handover socket speak. */
final class MessageCodec extends MessageToMessageCodec<ByteBuf, Message> {
    static final ObjectMapper JSON = new ObjectMapper();
    /** A connection's state is a few hundred bytes; the bytes held while quieting it at most a read's worth. */
    private static final int MAX_FRAME = 16 << 20;

    /** Adds the framing and this codec to a handover connection's pipeline. */
    static void addTo(ChannelPipeline pipeline) {
        pipeline.addLast(new LengthFieldBasedFrameDecoder(MAX_FRAME, 0, 4, 0, 4))
                .addLast(new LengthFieldPrepender(4))
                .addLast(new MessageCodec());
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Message msg, List<Object> out) throws IOException {
        ByteBuf buf = ctx.alloc().buffer();
        try (ByteBufOutputStream stream = new ByteBufOutputStream(buf)) {
            JSON.writerFor(Message.class).writeValue((java.io.OutputStream) stream, msg);
        } catch (IOException | RuntimeException e) {
            buf.release();
            throw e;
        }
        out.add(buf);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf msg, List<Object> out) throws IOException {
        try (ByteBufInputStream stream = new ByteBufInputStream(msg)) {
            out.add(JSON.readValue((java.io.InputStream) stream, Message.class));
        }
    }
}
