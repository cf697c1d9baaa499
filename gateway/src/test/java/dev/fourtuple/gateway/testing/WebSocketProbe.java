package dev.fourtuple.gateway.testing;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * A real WebSocket client (java.net.http) that collects every binary byte it receives, for echo tests.
 */
public final class WebSocketProbe implements WebSocket.Listener, AutoCloseable {
    private final ByteArrayOutputStream received = new ByteArrayOutputStream();
    private final CompletableFuture<Integer> closed = new CompletableFuture<>();
    private final WebSocket socket;
    private volatile Throwable failure;

    private WebSocketProbe(URI uri, HttpClient client) throws Exception {
        this.socket = client
                .newWebSocketBuilder()
                .connectTimeout(Duration.ofSeconds(5))
                .buildAsync(uri, this)
                .get(10, TimeUnit.SECONDS);
    }

    /** Opens a WebSocket; fails if the handshake does not complete within 10 s. */
    public static WebSocketProbe open(URI uri) throws Exception {
        return new WebSocketProbe(uri, HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build());
    }

    /** Opens a WebSocket with this client (e.g. one that trusts a test CA, for wss://). */
    public static WebSocketProbe open(URI uri, HttpClient client) throws Exception {
        return new WebSocketProbe(uri, client);
    }

    public WebSocket socket() {
        return socket;
    }

    /** Sends binary frames of the given size covering {@code data}, each after the previous completed. */
    public void sendBinary(byte[] data, int frameSize) throws Exception {
        for (int offset = 0; offset < data.length; offset += frameSize) {
            int length = Math.min(frameSize, data.length - offset);
            socket.sendBinary(ByteBuffer.wrap(data, offset, length), true).get(10, TimeUnit.SECONDS);
        }
    }

    /** Waits until {@code count} bytes have been received (in total) and returns all received so far. */
    public byte[] awaitBytes(long count, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (received) {
            while (received.size() < count) {
                if (failure != null) {
                    throw new IllegalStateException("websocket failed", failure);
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new java.util.concurrent.TimeoutException(received.size() + " of " + count + " bytes");
                }
                received.wait(Math.max(1, left / 1_000_000));
            }
            return received.toByteArray();
        }
    }

    /** Sends one binary frame and waits for its echo; returns the echoed bytes. */
    public byte[] echo(byte[] data, Duration timeout) throws Exception {
        int before;
        synchronized (received) {
            before = received.size();
        }
        socket.sendBinary(ByteBuffer.wrap(data), true).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        byte[] all = awaitBytes(before + data.length, timeout);
        return java.util.Arrays.copyOfRange(all, before, before + data.length);
    }

    public CompletableFuture<Integer> closed() {
        return closed;
    }

    @Override
    public void onOpen(WebSocket webSocket) {
        webSocket.request(Long.MAX_VALUE);
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
        synchronized (received) {
            byte[] bytes = new byte[data.remaining()];
            data.get(bytes);
            received.write(bytes, 0, bytes.length);
            received.notifyAll();
        }
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        closed.complete(statusCode);
        return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
        closed.completeExceptionally(error);
        synchronized (received) {
            failure = error;
            received.notifyAll();
        }
    }

    /** Drops the TCP connection without a closing handshake (a client that vanishes). */
    public void abort() {
        socket.abort();
    }

    @Override
    public void close() {
        socket.abort();
    }
}
