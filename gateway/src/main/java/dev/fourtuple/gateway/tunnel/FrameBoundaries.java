package dev.fourtuple.gateway.tunnel;

import io.netty.buffer.ByteBuf;

/**
 * Where the WebSocket frames are in one direction of a tunnel (RFC 6455 §5.2), so that the gateway can put a
 * frame of its own (a Close, for a drain) between two of the peer's without cutting one. A few integers and no
 * buffer: the bytes are only looked at as they are relayed, never copied, and payloads are skipped by count.
 *
 * <p>Control frames may come between the fragments of a message (RFC 6455 §5.4), so every frame boundary is a
 * place for a Close, also inside a fragmented message. A header that breaks §5.2 (a 64-bit length with its
 * most significant bit set) leaves the stream untrackable: {@link #atBoundary()} stays false, and whoever
 * wanted a boundary closes without a frame.
 *
 * <p>Confined to the tunnel's loop.
 */
public final class FrameBoundaries {
    private static final int START = 0;        // at a boundary: the next byte is FIN/RSV/opcode
    private static final int LENGTH = 1;       // the MASK bit and the 7-bit length
    private static final int EXTENDED = 2;     // 2 or 8 bytes of extended length, network order
    private static final int MASK = 3;         // the 4-byte masking key
    private static final int PAYLOAD = 4;
    private static final int BROKEN = 5;
    private static final int CLOSE_OPCODE = 0x8; // RFC 6455 §5.5.1

    private int state = START;
    private int extendedLeft;
    private int maskLeft;
    private boolean masked;
    private long payloadLeft;
    private long frames;
    private boolean closing;
    private boolean closePassed;

    /** Follows the frames through {@code bytes} (from its reader index to its writer index; nothing is read). */
    public void scan(ByteBuf bytes) {
        scan(bytes, false);
    }

    /**
     * Follows the frames through {@code bytes} up to the first boundary in them, and returns its index: the
     * bytes before it are scanned, those from it on are not. Returns the writer index when the bytes end first
     * ({@link #atBoundary()} tells whether that is a boundary too), the reader index when at a boundary already.
     */
    public int scanToBoundary(ByteBuf bytes) {
        return scan(bytes, true);
    }

    private int scan(ByteBuf bytes, boolean toBoundary) {
        int i = bytes.readerIndex();
        int end = bytes.writerIndex();
        while (i < end) {
            if (toBoundary && state == START) {
                return i;
            }
            switch (state) {
                case START -> {
                    // FIN, RSV1-3, opcode: nothing here changes where the frame ends; only a Close is noted
                    closing = (bytes.getUnsignedByte(i++) & 0x0F) == CLOSE_OPCODE;
                    state = LENGTH;
                }
                case LENGTH -> {
                    int b = bytes.getUnsignedByte(i++);
                    masked = (b & 0x80) != 0;
                    int length = b & 0x7F;
                    payloadLeft = 0;
                    if (length == 126) {
                        extendedLeft = 2;
                        state = EXTENDED;
                    } else if (length == 127) {
                        extendedLeft = 8;
                        state = EXTENDED;
                    } else {
                        payloadLeft = length;
                        afterLength();
                    }
                }
                case EXTENDED -> {
                    int b = bytes.getUnsignedByte(i++);
                    if (extendedLeft == 8 && (b & 0x80) != 0) {
                        state = BROKEN; // RFC 6455 §5.2: the most significant bit MUST be 0
                        return end;
                    }
                    payloadLeft = (payloadLeft << 8) | b;
                    if (--extendedLeft == 0) {
                        afterLength();
                    }
                }
                case MASK -> {
                    i++;
                    if (--maskLeft == 0) {
                        afterMask();
                    }
                }
                case PAYLOAD -> {
                    long skip = Math.min(payloadLeft, end - i);
                    i += (int) skip;
                    payloadLeft -= skip;
                    if (payloadLeft == 0) {
                        frameDone();
                    }
                }
                default -> {
                    return end; // BROKEN
                }
            }
        }
        return end;
    }

    private void afterLength() {
        if (masked) {
            maskLeft = 4;
            state = MASK;
        } else {
            afterMask();
        }
    }

    private void afterMask() {
        if (payloadLeft == 0) {
            frameDone();
        } else {
            state = PAYLOAD;
        }
    }

    private void frameDone() {
        frames++;
        closePassed |= closing;
        state = START;
    }

    /** True between two frames (and before the first): a frame of the gateway's may go here. */
    /** Where the scan is, as numbers: a tunnel that moves to another process takes it along. */
    public record Position(int state, int extendedLeft, int maskLeft, boolean masked, long payloadLeft, long frames) {
    }

    public Position position() {
        return new Position(state, extendedLeft, maskLeft, masked, payloadLeft, frames);
    }

    /** Continues from a position another process's tracker was at (a moved tunnel). */
    public void resumeAt(Position position) {
        if (position.state() < START || position.state() > BROKEN) {
            state = BROKEN; // not a position this tracker makes: the frames can no longer be followed
            return;
        }
        state = position.state();
        extendedLeft = position.extendedLeft();
        maskLeft = position.maskLeft();
        masked = position.masked();
        payloadLeft = position.payloadLeft();
        frames = position.frames();
    }

    public boolean atBoundary() {
        return state == START;
    }

    /** True once a header broke RFC 6455 §5.2: no boundary will be found again. */
    public boolean broken() {
        return state == BROKEN;
    }

    /**
     * True once a whole Close frame went this way (the peer's own, relayed): that direction has its Close, and
     * a second one would be a frame after the Close (RFC 6455 §5.5.1).
     */
    public boolean closePassed() {
        return closePassed;
    }

    /** Whole frames seen so far. */
    public long frames() {
        return frames;
    }
}
