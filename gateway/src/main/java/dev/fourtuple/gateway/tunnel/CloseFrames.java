package dev.fourtuple.gateway.tunnel;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The WebSocket Close frames the gateway sends on a drain (RFC 6455 §5.5.1): a status code and no reason.
 * To the client unmasked (a server's frames are not masked, §5.1); to the backend masked, as every frame from
 * a client must be (§5.3), with a fresh random key.
 */
public final class CloseFrames {
    /** RFC 6455 §7.4.1: the endpoint is going away (a server going down). */
    public static final int GOING_AWAY = 1001;
    /** IANA WebSocket close code registry: the service is restarting; clients may reconnect. */
    public static final int SERVICE_RESTART = 1012;

    private static final int FIN_CLOSE = 0x88; // FIN, opcode 0x8 (Close)

    private CloseFrames() {
    }

    /** An unmasked Close with {@code code}, for the client. */
    public static ByteBuf toClient(ByteBufAllocator alloc, int code) {
        ByteBuf frame = alloc.buffer(4);
        frame.writeByte(FIN_CLOSE).writeByte(2).writeShort(code);
        return frame;
    }

    /** A masked Close with {@code code}, for the backend. */
    public static ByteBuf toBackend(ByteBufAllocator alloc, int code) {
        int key = ThreadLocalRandom.current().nextInt();
        ByteBuf frame = alloc.buffer(8);
        frame.writeByte(FIN_CLOSE).writeByte(0x80 | 2).writeInt(key);
        frame.writeByte(((code >>> 8) & 0xFF) ^ (key >>> 24));
        frame.writeByte((code & 0xFF) ^ ((key >>> 16) & 0xFF));
        return frame;
    }
}
