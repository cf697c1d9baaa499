package dev.fourtuple.gateway.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.channels.ServerSocketChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * A backend address that answers nothing: a socket listening on loopback with a backlog of 1 that never
 * accepts, its accept queue filled first. Linux then drops every further SYN to it (tcp_conn_request: the
 * accept queue is full), so a connect neither completes nor is refused: it times out, as towards a host
 * that has vanished behind a firewall. Loopback only, no root, no namespace.
 */
public final class Blackhole implements AutoCloseable {
    private static final int MAX_FILLERS = 8;

    private final ServerSocketChannel server;
    private final List<Socket> fillers = new ArrayList<>();

    private Blackhole(ServerSocketChannel server) {
        this.server = server;
    }

    /**
     * Binds it and connects until a connect times out (the accept queue is full).
     *
     * @throws IllegalStateException when it cannot be filled (a kernel that refuses or accepts regardless)
     */
    public static Blackhole start() throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
        Blackhole hole = new Blackhole(server);
        try {
            for (int i = 0; i < MAX_FILLERS; i++) {
                Socket socket = new Socket();
                try {
                    socket.connect(hole.address(), 200);
                    hole.fillers.add(socket);
                } catch (SocketTimeoutException full) {
                    socket.close();
                    return hole;
                }
            }
        } catch (IOException | RuntimeException e) {
            hole.close();
            throw e;
        }
        hole.close();
        throw new IllegalStateException("the accept queue of a backlog-1 listener did not fill in "
                + MAX_FILLERS + " connects");
    }

    public InetSocketAddress address() {
        try {
            return (InetSocketAddress) server.getLocalAddress();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** "127.0.0.1:PORT", for configs. */
    public String hostPort() {
        InetSocketAddress address = address();
        return address.getAddress().getHostAddress() + ":" + address.getPort();
    }

    @Override
    public void close() {
        for (Socket socket : fillers) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        try {
            server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
