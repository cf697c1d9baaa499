package dev.fourtuple.gateway.testing;

import dev.fourtuple.gateway.testing.WebSocketWire.FrameReader;
import dev.fourtuple.gateway.testing.WebSocketWire.Header;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A WebSocket backend made of plain sockets, one thread per connection, that keeps what each connection
 * received as {@link ReceivedFrames} (raw frames, checked as a server must check a client's, RFC 6455 §5.1).
 * It echoes every data frame as it arrives: the header at once, then each piece of payload as it is read, so an
 * echoed frame is on the wire as long as the client's own and a drain can find both directions inside a frame.
 * A Ping gets a Pong; a Close gets a Close with the same status (§5.5.1), and the connection is read on to its
 * end, so that anything after the Close is seen.
 */
public final class FrameEchoBackend implements AutoCloseable {
    private static final long STACK = 256 * 1024;

    private final ServerSocket server;
    private final List<Conn> connections = new CopyOnWriteArrayList<>();
    /** What a request for {@code /healthz} gets (an active health check's). */
    private volatile int healthStatus = 200;
    private final Thread acceptor;

    /** One accepted connection. */
    public static final class Conn {
        private final Socket socket;
        private final ReceivedFrames received = new ReceivedFrames(true);
        private volatile boolean outputGone;

        Conn(Socket socket) {
            this.socket = socket;
        }

        public ReceivedFrames received() {
            return received;
        }
    }

    private FrameEchoBackend(ServerSocket server) {
        this.server = server;
        this.acceptor = new Thread(null, this::acceptLoop, "frame-echo-" + server.getLocalPort(), STACK);
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public static FrameEchoBackend start() throws IOException {
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4096);
        return new FrameEchoBackend(server);
    }

    /** The status {@code GET /healthz} is answered with from now on (200 at start). */
    public void health(int status) {
        healthStatus = status;
    }

    /** "127.0.0.1:PORT", for configs. */
    public String hostPort() {
        return server.getInetAddress().getHostAddress() + ":" + server.getLocalPort();
    }

    /** Every connection accepted so far, in order. */
    public List<Conn> connections() {
        return List.copyOf(connections);
    }

    private void acceptLoop() {
        try {
            while (!server.isClosed()) {
                Socket socket = server.accept();
                Conn conn = new Conn(socket);
                connections.add(conn);
                Thread thread = new Thread(null, () -> serve(conn), "frame-echo-conn-" + connections.size(), STACK);
                thread.setDaemon(true);
                thread.start();
            }
        } catch (IOException e) {
            // closed
        }
    }

    private void serve(Conn conn) {
        try (Socket socket = conn.socket) {
            socket.setTcpNoDelay(true);
            InputStream in = new BufferedInputStream(socket.getInputStream());
            OutputStream out = socket.getOutputStream();
            if (!handshake(in, out)) {
                conn.received.ended().complete("no WebSocket handshake");
                return;
            }
            conn.received.readAll(new FrameReader(in), new Echo(conn, out));
        } catch (IOException e) {
            conn.received.ended().complete(e.toString());
        }
    }

    /** RFC 6455 §4.2.2: answers an upgrade with a 101 whose Sec-WebSocket-Accept matches the key. */
    private boolean handshake(InputStream in, OutputStream out) throws IOException {
        HttpWire.Message request = HttpWire.readRequest(in);
        String key = request == null ? null : request.header("Sec-WebSocket-Key");
        if (key == null && request != null && request.second().equals("/healthz")) {
            out.write(("HTTP/1.1 " + healthStatus + " Health\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            return false;
        }
        if (key == null) {
            return false;
        }
        out.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Accept: " + WebSocketWire.acceptFor(key) + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return true;
    }

    /**
     * Writes back, unmasked (a server's frames are not masked, RFC 6455 §5.1). Once a write fails the peer is
     * gone that way; reading goes on, to see how the stream ends.
     */
    private static final class Echo implements ReceivedFrames.Listener {
        private final Conn conn;
        private final OutputStream out;

        Echo(Conn conn, OutputStream out) {
            this.conn = conn;
            this.out = out;
        }

        @Override
        public void dataHeader(Header header) {
            write(() -> WebSocketWire.writeHeader(out, header.fin(), header.opcode(), null, header.length()));
        }

        @Override
        public void dataPiece(byte[] buf, int off, int len) {
            write(() -> out.write(buf, off, len));
        }

        @Override
        public void ping(byte[] payload) {
            frame(WebSocketWire.PONG, payload);
        }

        @Override
        public void close(byte[] payload) {
            frame(WebSocketWire.CLOSE, payload.length >= 2 ? new byte[] {payload[0], payload[1]} : new byte[0]);
        }

        private void frame(int opcode, byte[] payload) {
            write(() -> {
                WebSocketWire.writeHeader(out, true, opcode, null, payload.length);
                out.write(payload);
            });
        }

        private void write(IoAction action) {
            if (conn.outputGone) {
                return;
            }
            try {
                action.run();
                out.flush();
            } catch (IOException e) {
                conn.outputGone = true;
            }
        }
    }

    @FunctionalInterface
    private interface IoAction {
        void run() throws IOException;
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Conn conn : connections) {
            conn.socket.close();
        }
        try {
            acceptor.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
