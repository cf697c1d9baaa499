package dev.fourtuple.gateway.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * A backend made of plain sockets that keeps the exact bytes each connection received and parses them with
 * {@link HttpWire} (not Netty), one thread per connection. Each request it parses gets a sequence number and
 * the response its {@link Responder} writes: by default a 200 whose headers echo the request's
 * {@code X-Req}, the sequence number and the connection, so a client can tell which request an answer is for.
 * A script can answer with any bytes at all (a desync attempt, a bad 101) or stop answering.
 */
public final class RecordingBackend implements AutoCloseable {
    private final ServerSocket server;
    private final Responder responder;
    private final List<Conn> connections = new CopyOnWriteArrayList<>();
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private final AtomicInteger sequence = new AtomicInteger();
    private final Thread acceptor;

    /** What to write back for a parsed request; null writes nothing more and closes the connection. */
    @FunctionalInterface
    public interface Responder {
        byte @Nullable [] respond(Request request, Conn connection) throws IOException;
    }

    /** What a connection does with its raw streams once taken over. */
    @FunctionalInterface
    public interface RawScript {
        void run(InputStream in, OutputStream out) throws IOException;
    }

    /** A request as this backend parsed it. */
    public record Request(int seq, int connection, HttpWire.Message message) {
        public String method() {
            return message.first();
        }

        public String target() {
            return message.second();
        }

        public @Nullable String header(String name) {
            return message.header(name);
        }

        public String body() {
            return message.bodyText();
        }
    }

    /** One accepted connection: every byte it received, what was parsed of it, how parsing ended. */
    public static final class Conn {
        private final int id;
        private final Socket socket;
        private final ByteArrayOutputStream received = new ByteArrayOutputStream();
        private final List<Request> requests = new CopyOnWriteArrayList<>();
        private volatile @Nullable String parseError;
        private volatile boolean ended;
        private volatile @Nullable RawScript takeover;

        Conn(int id, Socket socket) {
            this.id = id;
            this.socket = socket;
        }

        public int id() {
            return id;
        }

        /** The socket itself, for a script that half-closes it. */
        public Socket socket() {
            return socket;
        }

        public String received() {
            synchronized (received) {
                return received.toString(StandardCharsets.ISO_8859_1);
            }
        }

        public List<Request> requests() {
            return List.copyOf(requests);
        }

        /** Why parsing stopped before the connection closed cleanly, or null. */
        public @Nullable String parseError() {
            return parseError;
        }

        /** True once the gateway closed (or reset) this connection and its thread is done. */
        public boolean ended() {
            return ended;
        }

        /**
         * After the response being written, hand the raw streams to {@code script} instead of parsing more
         * requests (a WebSocket server after its 101, a peer that half-closes). Call from a {@link Responder}.
         */
        public void takeOver(RawScript script) {
            this.takeover = script;
        }

        /** Writes raw bytes now (e.g. stray bytes while the connection sits in the gateway's pool). */
        public void write(String bytes) throws IOException {
            OutputStream out = socket.getOutputStream();
            out.write(bytes.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }

        void record(byte[] bytes, int off, int len) {
            synchronized (received) {
                received.write(bytes, off, len);
            }
        }
    }

    private RecordingBackend(ServerSocket server, Responder responder) {
        this.server = server;
        this.responder = responder;
        this.acceptor = new Thread(this::acceptLoop, "recording-backend-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** A backend answering every request with {@link #echo}. */
    public static RecordingBackend start() throws IOException {
        return start(RecordingBackend::echo);
    }

    public static RecordingBackend start(Responder responder) throws IOException {
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        return new RecordingBackend(server, responder);
    }

    /** 200, {@code X-Req} echoed, {@code X-Seq}, {@code X-Conn}; the body names the request (none for HEAD). */
    public static byte[] echo(Request request, Conn connection) {
        String body = request.method() + " " + request.target() + " body=" + request.body().length() + "\n";
        String xReq = request.header("X-Req");
        String head = "HTTP/1.1 200 OK\r\n"
                + "Content-Length: " + body.length() + "\r\n"
                + "X-Seq: " + request.seq() + "\r\n"
                + "X-Conn: " + connection.id() + "\r\n"
                + (xReq == null ? "" : "X-Req: " + xReq + "\r\n")
                + "\r\n";
        return (request.method().equals("HEAD") ? head : head + body).getBytes(StandardCharsets.ISO_8859_1);
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) server.getLocalSocketAddress();
    }

    /** "127.0.0.1:PORT", for configs. */
    public String hostPort() {
        return address().getAddress().getHostAddress() + ":" + address().getPort();
    }

    public List<Conn> connections() {
        return List.copyOf(connections);
    }

    /** Every request parsed, over all connections, in the order parsed. */
    public List<Request> requests() {
        return List.copyOf(requests);
    }

    /** Every byte received over all connections, one string per connection. */
    public List<String> received() {
        List<String> all = new ArrayList<>();
        for (Conn conn : connections) {
            all.add(conn.received());
        }
        return all;
    }

    private void acceptLoop() {
        try {
            while (!server.isClosed()) {
                Socket socket = server.accept();
                Conn conn = new Conn(connections.size() + 1, socket);
                connections.add(conn);
                Thread thread = new Thread(() -> serve(conn), "recording-backend-conn-" + conn.id());
                thread.setDaemon(true);
                thread.start();
            }
        } catch (IOException e) {
            // closed
        }
    }

    private void serve(Conn conn) {
        try (Socket socket = conn.socket) {
            InputStream in = new BufferedInputStream(new Recording(socket.getInputStream(), conn));
            OutputStream out = socket.getOutputStream();
            HttpWire.Message message;
            while ((message = HttpWire.readRequest(in)) != null) {
                Request request = new Request(sequence.incrementAndGet(), conn.id(), message);
                conn.requests.add(request);
                requests.add(request);
                byte[] response = responder.respond(request, conn);
                if (response == null) {
                    return;
                }
                out.write(response);
                out.flush();
                RawScript script = conn.takeover;
                if (script != null) {
                    script.run(in, out);
                    return;
                }
            }
        } catch (SocketException e) {
            // reset by the gateway: what was received is recorded
        } catch (IOException e) {
            conn.parseError = e.getMessage();
        } finally {
            conn.ended = true;
        }
    }

    /** Copies every byte read into the connection's record. */
    private static final class Recording extends FilterInputStream {
        private final Conn conn;

        Recording(InputStream in, Conn conn) {
            super(in);
            this.conn = conn;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                conn.record(new byte[] {(byte) b}, 0, 1);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                conn.record(b, off, n);
            }
            return n;
        }
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
