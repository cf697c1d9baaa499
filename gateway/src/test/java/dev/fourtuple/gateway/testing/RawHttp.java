package dev.fourtuple.gateway.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A plain socket speaking bytes, for what a well-behaved HTTP client will not send: malformed requests,
 * slow or silent clients, half-closes. {@link #connectTls} speaks the same bytes inside TLS.
 */
public final class RawHttp implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;

    private RawHttp(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new java.io.BufferedInputStream(socket.getInputStream());
    }

    public static RawHttp connect(InetSocketAddress address, int readTimeoutMillis) throws IOException {
        Socket socket = new Socket();
        socket.connect(address, 5000);
        socket.setSoTimeout(readTimeoutMillis);
        return new RawHttp(socket);
    }

    /**
     * Connects and completes a TLS handshake (SNI {@code hostName}, the certificate checked against it with
     * {@code context}'s trust) before returning: what is sent and read afterwards is inside TLS. The end of the
     * stream is the server's close_notify (a FIN without one fails the read with an SSLException).
     */
    public static RawHttp connectTls(InetSocketAddress address, javax.net.ssl.SSLContext context, String hostName,
            int readTimeoutMillis) throws IOException {
        Socket plain = new Socket();
        try {
            plain.connect(address, 5000);
            plain.setSoTimeout(readTimeoutMillis);
            javax.net.ssl.SSLSocket tls = (javax.net.ssl.SSLSocket) context.getSocketFactory()
                    .createSocket(plain, hostName, address.getPort(), true);
            javax.net.ssl.SSLParameters parameters = tls.getSSLParameters();
            parameters.setEndpointIdentificationAlgorithm("HTTPS"); // host name checked as an HTTPS client does
            tls.setSSLParameters(parameters);
            tls.startHandshake();
            return new RawHttp(tls);
        } catch (IOException e) {
            plain.close();
            throw e;
        }
    }

    /** Connects from {@code source} (any of 127.0.0.0/8 is local on Linux: one client address per test client). */
    public static RawHttp connect(InetSocketAddress address, InetAddress source, int readTimeoutMillis)
            throws IOException {
        Socket socket = new Socket();
        try {
            socket.bind(new InetSocketAddress(source, 0));
            socket.connect(address, 5000);
            socket.setSoTimeout(readTimeoutMillis);
        } catch (IOException e) {
            socket.close();
            throw e;
        }
        return new RawHttp(socket);
    }

    public Socket socket() {
        return socket;
    }

    public RawHttp send(String text) throws IOException {
        OutputStream out = socket.getOutputStream();
        out.write(text.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        return this;
    }

    /**
     * Everything until the server closes the connection (or the read timeout fails the test). A reset after
     * some bytes ends the read too, with those bytes: what arrived before it is what the client got.
     */
    public String readUntilClose() throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        try {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                all.write(buffer, 0, n);
            }
        } catch (java.net.SocketException reset) {
            if (all.size() == 0) {
                throw reset;
            }
        }
        return all.toString(StandardCharsets.ISO_8859_1);
    }

    /**
     * Every response until the gateway closes the connection, parsed by {@link HttpWire} (a parser apart from
     * Netty's): a stream that does not parse, or bytes after the last response, fail the test.
     *
     * @param heads whether the i-th request was a HEAD (its response has no body)
     */
    public java.util.List<HttpWire.Message> responses(boolean... heads) throws IOException {
        return HttpWire.readResponses(in, heads);
    }

    /** The next response, parsed by {@link HttpWire}; the connection stays open. */
    public HttpWire.Message response(boolean toHead) throws IOException {
        HttpWire.Message response = HttpWire.readResponse(in, toHead);
        if (response == null) {
            throw new java.io.EOFException("closed before a response");
        }
        return response;
    }

    /** The next response to a non-HEAD request. */
    public HttpWire.Message response() throws IOException {
        return response(false);
    }

    /** True when the gateway has closed the connection: the next read sees the end of the stream. */
    public boolean closedByPeer() throws IOException {
        try {
            return in.read() < 0;
        } catch (java.net.SocketException e) {
            return true; // reset: closed too
        }
    }

    /** Shuts the sending side (a FIN): the client half-closes. */
    public void halfClose() throws IOException {
        socket.shutdownOutput();
    }

    /** The response head (status line and headers) of the next response. */
    public String readHead() throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.append((char) b);
        }
        return head.toString();
    }

    /** Reads exactly {@code n} body bytes. */
    public byte[] readBytes(int n) throws IOException {
        byte[] body = in.readNBytes(n);
        if (body.length < n) {
            throw new IOException("connection closed after " + body.length + " of " + n + " bytes");
        }
        return body;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
