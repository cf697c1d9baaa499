package dev.fourtuple.gateway.testing;

import dev.fourtuple.gateway.testing.WebSocketWire.FrameReader;
import dev.fourtuple.gateway.testing.WebSocketWire.Header;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * What one side of a WebSocket connection received, read frame by frame to the end of the stream and checked
 * against RFC 6455 on the way: masking by direction (§5.1, §5.3), RSV bits (§5.2), fragment order (§5.4),
 * control frames (§5.5), nothing after a Close (§5.5.1), and every data byte against {@link WebSocketWire}'s
 * pattern. The first problem is kept; the stream is read on after it, so that the end is seen too.
 *
 * <p>Written by the one thread that runs {@link #readAll}, read by any (volatile fields).
 */
public final class ReceivedFrames {
    private static final int PIECE = 16 * 1024;

    /** The first Close received: when it came, its header and payload, and whether a message was under way. */
    public record Close(long atNanos, Header header, byte[] payload, boolean midMessage) {
        public int code() {
            return WebSocketWire.closeCode(payload);
        }
    }

    /** What the receiving side does with what arrives (an echo server echoes; a client answers a Close). */
    public interface Listener {
        /** A data frame begins (its payload follows in pieces). */
        default void dataHeader(Header header) throws IOException {
        }

        /** A piece of a data frame's payload, unmasked. */
        default void dataPiece(byte[] buf, int off, int len) throws IOException {
        }

        default void ping(byte[] payload) throws IOException {
        }

        default void close(byte[] payload) throws IOException {
        }
    }

    private final boolean fromClient;
    private final CompletableFuture<String> ended = new CompletableFuture<>();
    private volatile @Nullable String problem;
    private volatile @Nullable Close close;
    private volatile long dataBytes;
    private boolean inMessage; // confined to the reading thread

    /** @param fromClient whether the frames come from a client (so must be masked, §5.3) or a server (must not) */
    public ReceivedFrames(boolean fromClient) {
        this.fromClient = fromClient;
    }

    /** Reads every frame until the stream ends (cleanly, or with an error) and records it; never throws. */
    public void readAll(FrameReader reader, Listener listener) {
        byte[] piece = new byte[PIECE];
        try {
            Header header;
            while ((header = reader.next()) != null) {
                if (close != null) {
                    problem("RFC 6455 §5.5.1: frame (opcode " + header.opcode() + ") after the Close");
                }
                if (header.masked() != fromClient) {
                    problem(fromClient ? "RFC 6455 §5.3: unmasked frame from the client side"
                            : "RFC 6455 §5.1: masked frame from the server side");
                }
                if (header.rsv() != 0) {
                    problem("RFC 6455 §5.2: RSV bits " + header.rsv() + " with no extension negotiated");
                }
                if (header.control()) {
                    control(reader, header, listener);
                } else {
                    data(reader, header, listener, piece);
                }
            }
            ended.complete("end of stream");
        } catch (IOException e) {
            if (!reader.atBoundary()) {
                problem("frame cut: the stream ended inside a frame (" + e + ")");
            }
            ended.complete(e.toString());
        } catch (RuntimeException e) {
            problem("reader failed: " + e);
            ended.complete(e.toString());
        }
    }

    private void control(FrameReader reader, Header header, Listener listener) throws IOException {
        if (!header.fin() || header.length() > 125) {
            problem("RFC 6455 §5.5: control frame fragmented or over 125 bytes (" + header + ")");
        }
        byte[] payload = reader.payload();
        switch (header.opcode()) {
            case WebSocketWire.CLOSE -> {
                if (close == null) {
                    close = new Close(System.nanoTime(), header, payload, inMessage);
                    listener.close(payload);
                }
            }
            case WebSocketWire.PING -> listener.ping(payload);
            case WebSocketWire.PONG -> {
            }
            default -> problem("RFC 6455 §5.2: reserved control opcode " + header.opcode());
        }
    }

    private void data(FrameReader reader, Header header, Listener listener, byte[] piece) throws IOException {
        int opcode = header.opcode();
        if (opcode == WebSocketWire.CONTINUATION && !inMessage) {
            problem("RFC 6455 §5.4: continuation frame with no fragmented message under way");
        } else if (opcode != WebSocketWire.CONTINUATION && inMessage) {
            problem("RFC 6455 §5.4: a new message (opcode " + opcode + ") inside a fragmented one");
        }
        if (opcode != WebSocketWire.CONTINUATION && opcode != WebSocketWire.TEXT && opcode != WebSocketWire.BINARY) {
            problem("RFC 6455 §5.2: reserved data opcode " + opcode);
        }
        listener.dataHeader(header);
        long offset = dataBytes;
        int n;
        while ((n = reader.payload(piece, 0, piece.length)) > 0) {
            int bad = WebSocketWire.patternMismatch(piece, 0, n, offset);
            if (bad >= 0) {
                problem("data byte " + (offset + bad) + " is off the pattern: part of a frame lost or replaced");
            }
            offset += n;
            dataBytes = offset;
            listener.dataPiece(piece, 0, n);
        }
        inMessage = !header.fin();
    }

    private void problem(String what) {
        if (problem == null) {
            problem = what;
        }
    }

    /** The first problem seen, or null. */
    public @Nullable String problem() {
        return problem;
    }

    /** The first Close received, or null. */
    public @Nullable Close close() {
        return close;
    }

    /** Data payload bytes received (all of them on the pattern unless {@link #problem()} says otherwise). */
    public long dataBytes() {
        return dataBytes;
    }

    /** Completes with how the stream ended ("end of stream", or the error) once it has. */
    public CompletableFuture<String> ended() {
        return ended;
    }
}
