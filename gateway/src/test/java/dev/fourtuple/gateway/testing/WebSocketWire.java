package dev.fourtuple.gateway.testing;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import org.jspecify.annotations.Nullable;

/**
 * WebSocket frames on a raw byte stream (RFC 6455 §5), written apart from Netty's codec and from the gateway's
 * own frame tracker, so that a test sees exactly the bytes that crossed the wire: where each frame began and
 * ended, whether it was masked, and whether the stream ended inside one (a cut frame).
 *
 * <p>Data payloads in tests follow one pattern: the byte at offset {@code s} of a direction's data payloads
 * (all data frames of a connection, in order, counted together) is {@code s % 251}. A frame cut and something
 * else put in its place shows as a pattern mismatch at the first byte that does not belong.
 */
public final class WebSocketWire {
    public static final int CONTINUATION = 0x0;
    public static final int TEXT = 0x1;
    public static final int BINARY = 0x2;
    public static final int CLOSE = 0x8;
    public static final int PING = 0x9;
    public static final int PONG = 0xA;

    /** RFC 6455 §1.3: appended to the key before hashing. */
    private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private WebSocketWire() {
    }

    /** One frame header as it was on the wire (RFC 6455 §5.2). */
    public record Header(boolean fin, int rsv, int opcode, boolean masked, int maskKey, long length) {
        /** RFC 6455 §5.5: opcodes 0x8-0xF are control frames. */
        public boolean control() {
            return (opcode & 0x8) != 0;
        }
    }

    /**
     * Reads frames from a stream, headers one byte at a time, and knows at every moment whether it stands
     * between two frames or inside one. Not thread-safe: one reader.
     */
    public static final class FrameReader {
        private final InputStream in;
        private long payloadLeft;
        private int maskKey;
        private boolean masked;
        private long payloadRead;
        private boolean atBoundary = true;

        public FrameReader(InputStream in) {
            this.in = in;
        }

        /**
         * The next frame's header; null at a clean end of stream between two frames. The previous frame's
         * payload must have been read. An end of stream inside a header is an {@link EOFException}; a header
         * that breaks RFC 6455 §5.2 is an {@link IOException}.
         */
        public @Nullable Header next() throws IOException {
            if (payloadLeft != 0) {
                throw new IllegalStateException(payloadLeft + " payload bytes of the previous frame unread");
            }
            int b0 = in.read();
            if (b0 < 0) {
                return null;
            }
            atBoundary = false;
            int b1 = nextByte();
            long length = b1 & 0x7F;
            if (length == 126) {
                length = (nextByte() << 8) | nextByte();
                if (length < 126) {
                    throw new IOException("RFC 6455 §5.2: length " + length + " not in its minimal encoding");
                }
            } else if (length == 127) {
                length = 0;
                for (int i = 0; i < 8; i++) {
                    length = (length << 8) | nextByte();
                }
                if (length < 0) {
                    throw new IOException("RFC 6455 §5.2: 64-bit length with its most significant bit set");
                }
                if (length <= 0xFFFF) {
                    throw new IOException("RFC 6455 §5.2: length " + length + " not in its minimal encoding");
                }
            }
            masked = (b1 & 0x80) != 0;
            maskKey = 0;
            if (masked) {
                for (int i = 0; i < 4; i++) {
                    maskKey = (maskKey << 8) | nextByte();
                }
            }
            payloadLeft = length;
            payloadRead = 0;
            atBoundary = length == 0;
            return new Header((b0 & 0x80) != 0, (b0 >> 4) & 0x7, b0 & 0x0F, masked, maskKey, length);
        }

        /**
         * Reads up to {@code len} bytes of the current frame's payload, unmasked (RFC 6455 §5.3); returns how
         * many (0 once the payload is all read). An end of stream inside the payload is an {@link EOFException}.
         */
        public int payload(byte[] buf, int off, int len) throws IOException {
            int want = (int) Math.min(len, payloadLeft);
            if (want == 0) {
                return 0;
            }
            int n = in.read(buf, off, want);
            if (n < 0) {
                throw new EOFException("stream ended " + payloadLeft + " bytes before the end of a frame");
            }
            if (masked) {
                mask(buf, off, n, maskKey, payloadRead);
            }
            payloadRead += n;
            payloadLeft -= n;
            atBoundary = payloadLeft == 0;
            return n;
        }

        /** The whole payload of the current frame (for control frames, at most 125 bytes). */
        public byte[] payload() throws IOException {
            byte[] all = new byte[Math.toIntExact(payloadLeft)];
            int off = 0;
            while (off < all.length) {
                off += payload(all, off, all.length - off);
            }
            return all;
        }

        /** True between two frames (and before the first); false from a header's first byte to its payload's last. */
        public boolean atBoundary() {
            return atBoundary;
        }

        private int nextByte() throws IOException {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("stream ended inside a frame header");
            }
            return b;
        }
    }

    /** Writes a frame header in the minimal length encoding (RFC 6455 §5.2); {@code maskKey} null: unmasked. */
    public static void writeHeader(OutputStream out, boolean fin, int opcode, @Nullable Integer maskKey, long length)
            throws IOException {
        byte[] header = new byte[14];
        int n = 0;
        header[n++] = (byte) ((fin ? 0x80 : 0) | opcode);
        int maskBit = maskKey == null ? 0 : 0x80;
        if (length < 126) {
            header[n++] = (byte) (maskBit | length);
        } else if (length <= 0xFFFF) {
            header[n++] = (byte) (maskBit | 126);
            header[n++] = (byte) (length >>> 8);
            header[n++] = (byte) length;
        } else {
            header[n++] = (byte) (maskBit | 127);
            for (int shift = 56; shift >= 0; shift -= 8) {
                header[n++] = (byte) (length >>> shift);
            }
        }
        if (maskKey != null) {
            for (int shift = 24; shift >= 0; shift -= 8) {
                header[n++] = (byte) (maskKey >>> shift);
            }
        }
        out.write(header, 0, n);
    }

    /** XORs {@code len} bytes with the key (RFC 6455 §5.3), {@code position} being the first one's payload index. */
    public static void mask(byte[] buf, int off, int len, int key, long position) {
        for (int i = 0; i < len; i++) {
            int shift = 24 - 8 * (int) ((position + i) & 3);
            buf[off + i] ^= (byte) (key >>> shift);
        }
    }

    /** The pattern's bytes for data offsets {@code offset} to {@code offset + len}. */
    public static void fillPattern(byte[] buf, int off, int len, long offset) {
        for (int i = 0; i < len; i++) {
            buf[off + i] = (byte) ((offset + i) % 251);
        }
    }

    /** The index within {@code buf[off, off + len)} of the first byte off the pattern, or -1. */
    public static int patternMismatch(byte[] buf, int off, int len, long offset) {
        for (int i = 0; i < len; i++) {
            if (buf[off + i] != (byte) ((offset + i) % 251)) {
                return i;
            }
        }
        return -1;
    }

    /** The status code of a Close payload (RFC 6455 §5.5.1: its first two bytes), or -1 without one. */
    public static int closeCode(byte[] payload) {
        return payload.length < 2 ? -1 : ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF);
    }

    /** RFC 6455 §4.2.2 item 5.4: base64(SHA-1(key + GUID)). */
    public static String acceptFor(String key) {
        try {
            MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
            return Base64.getEncoder().encodeToString(
                    sha1.digest((key + GUID).getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-1", e);
        }
    }
}
