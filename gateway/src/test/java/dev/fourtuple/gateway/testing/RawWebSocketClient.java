package dev.fourtuple.gateway.testing;

import dev.fourtuple.gateway.testing.WebSocketWire.FrameReader;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;

/**
 * A WebSocket client on a plain socket that sees every byte: a reader thread parses what arrives frame by
 * frame into {@link ReceivedFrames} (checked as a client must check a server's, RFC 6455 §5.1), and data it
 * sends is masked (§5.3) and follows {@link WebSocketWire}'s pattern, so an echo backend's reply can be checked
 * byte for byte. A Close it receives it answers with a Close of the same status (§5.5.1), as a client library
 * would: at once, or while streaming after the frame under way (a frame once begun is sent whole), and then
 * sends nothing more; once the stream it reads has ended it closes its socket.
 */
public final class RawWebSocketClient implements AutoCloseable {
    private static final long STACK = 256 * 1024;

    private final Socket socket;
    private final OutputStream out;
    private final ReceivedFrames received = new ReceivedFrames(false);
    private final Thread reader;
    private volatile @Nullable Thread writer;
    private long sentBytes; // guarded by this
    private volatile boolean stopped;
    private volatile long readPauseMillis;

    private RawWebSocketClient(Socket socket, InputStream in, String name) throws IOException {
        this.socket = socket;
        this.out = socket.getOutputStream();
        ReceivedFrames.Listener onClose = new ReceivedFrames.Listener() {
            @Override
            public void dataPiece(byte[] buf, int off, int len) {
                long pause = readPauseMillis;
                if (pause > 0) {
                    try {
                        Thread.sleep(pause);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }

            @Override
            public void close(byte[] payload) {
                if (writer == null) {
                    replyClose();
                } // else the writer answers once its frame is whole
            }
        };
        this.reader = new Thread(null, () -> {
            received.readAll(new FrameReader(in), onClose);
            closeSocket(); // the server closed first (RFC 6455 §7.1.1): the client's TCP close follows
        }, name + "-reader", STACK);
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * Connects and completes the opening handshake (RFC 6455 §4.1: a 101 whose Sec-WebSocket-Accept matches
     * the key), or fails. Reads time out after a minute, so a reader never outlives a hung test by long.
     */
    public static RawWebSocketClient connect(InetSocketAddress address, String path, String name)
            throws IOException {
        return connect(address, path, name, 0);
    }

    /**
     * As {@link #connect(InetSocketAddress, String, String)}, with SO_RCVBUF fixed at {@code receiveBuffer}
     * bytes before the connect (0: the kernel's autotuning), so that a slow reader's window stays small.
     */
    public static RawWebSocketClient connect(InetSocketAddress address, String path, String name, int receiveBuffer)
            throws IOException {
        Socket socket = new Socket();
        try {
            if (receiveBuffer > 0) {
                socket.setReceiveBufferSize(receiveBuffer);
            }
            socket.setTcpNoDelay(true);
            socket.connect(address, 5000);
            socket.setSoTimeout(60_000);
            byte[] nonce = new byte[16];
            ThreadLocalRandom.current().nextBytes(nonce);
            String key = Base64.getEncoder().encodeToString(nonce);
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: " + address.getHostString() + ":" + address.getPort()
                    + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key
                    + "\r\nSec-WebSocket-Version: 13\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = new BufferedInputStream(socket.getInputStream());
            HttpWire.Message response = HttpWire.readResponse(in, false);
            if (response == null || response.status() != 101
                    || !WebSocketWire.acceptFor(key).equals(response.header("Sec-WebSocket-Accept"))) {
                throw new IOException("no WebSocket handshake: " + response);
            }
            return new RawWebSocketClient(socket, in, name);
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /** From now on the reader pauses this long after each piece it reads: a slow reader. */
    public void readSlowly(Duration pausePerPiece) {
        readPauseMillis = pausePerPiece.toMillis();
    }

    public ReceivedFrames received() {
        return received;
    }

    /** Sends one whole binary frame of {@code length} pattern bytes. */
    public synchronized void sendBinary(int length) throws IOException {
        byte[] payload = new byte[length];
        int key = ThreadLocalRandom.current().nextInt();
        WebSocketWire.fillPattern(payload, 0, length, sentBytes);
        WebSocketWire.mask(payload, 0, length, key, 0);
        WebSocketWire.writeHeader(out, true, WebSocketWire.BINARY, key, length);
        out.write(payload);
        out.flush();
        sentBytes += length;
    }

    /**
     * Starts a writer thread that sends message after message of {@code messageBytes}, each as a binary frame
     * and continuation frames of {@code fragmentBytes} (RFC 6455 §5.4), each frame in writes of
     * {@code chunkBytes} with {@code pause} after every write: a frame is on the wire for a while, a message
     * for longer. Once a Close was received it ends the frame under way, answers the Close and stops; or when
     * a write fails (the gateway closed the connection).
     */
    public void streamFragmented(int messageBytes, int fragmentBytes, int chunkBytes, Duration pause) {
        Thread thread = new Thread(null, () -> stream(messageBytes, fragmentBytes, chunkBytes, pause.toMillis()),
                reader.getName().replace("-reader", "-writer"), STACK);
        thread.setDaemon(true);
        writer = thread;
        thread.start();
    }

    private void stream(int messageBytes, int fragmentBytes, int chunkBytes, long pauseMillis) {
        byte[] chunk = new byte[chunkBytes];
        try {
            messages:
            while (!stopped) {
                for (int sent = 0; sent < messageBytes; sent += fragmentBytes) {
                    int length = Math.min(fragmentBytes, messageBytes - sent);
                    int key = ThreadLocalRandom.current().nextInt();
                    int opcode = sent == 0 ? WebSocketWire.BINARY : WebSocketWire.CONTINUATION;
                    synchronized (this) {
                        WebSocketWire.writeHeader(out, sent + length == messageBytes, opcode, key, length);
                    }
                    for (int off = 0; off < length; off += chunkBytes) {
                        int n = Math.min(chunkBytes, length - off);
                        synchronized (this) {
                            WebSocketWire.fillPattern(chunk, 0, n, sentBytes);
                            WebSocketWire.mask(chunk, 0, n, key, off);
                            out.write(chunk, 0, n);
                            out.flush();
                            sentBytes += n;
                        }
                        if (stopped) {
                            return;
                        }
                        if (pauseMillis > 0) {
                            Thread.sleep(pauseMillis); // pacing, so that the frame spans many reads
                        }
                    }
                    if (received.close() != null) {
                        break messages;
                    }
                }
            }
            if (received.close() != null) {
                replyClose(); // RFC 6455 §5.4: between two fragments, a control frame may go
            }
        } catch (IOException e) {
            // the connection is gone: what the reader saw tells the rest
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The answer to a Close (RFC 6455 §5.5.1): a masked Close with the status received; a connection the
     * gateway closed meanwhile takes none, which is no problem of the test's.
     */
    private synchronized void replyClose() {
        ReceivedFrames.Close close = received.close();
        byte[] payload = close == null || close.payload().length < 2 ? new byte[0]
                : new byte[] {close.payload()[0], close.payload()[1]};
        int key = ThreadLocalRandom.current().nextInt();
        WebSocketWire.mask(payload, 0, payload.length, key, 0);
        try {
            WebSocketWire.writeHeader(out, true, WebSocketWire.CLOSE, key, payload.length);
            out.write(payload);
            out.flush();
        } catch (IOException e) {
            // the gateway closed the connection already
        }
    }

    private void closeSocket() {
        stopped = true;
        try {
            socket.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    @Override
    public void close() throws IOException {
        stopped = true;
        Thread thread = writer;
        if (thread != null) {
            thread.interrupt();
        }
        socket.close();
    }
}
