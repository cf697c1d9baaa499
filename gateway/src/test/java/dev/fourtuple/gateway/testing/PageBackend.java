package dev.fourtuple.gateway.testing;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A backend (the JDK's HttpServer) that serves one HTML page at {@code /page} whose script opens a WebSocket to
 * {@code /ws} on the origin it was loaded from ({@code wss://} when the page came over https), sends
 * {@value #MESSAGES} text messages of growing size, checks that each comes back intact and in order, and sets
 * {@code document.title} to {@code ok 100}, or to {@code fail: REASON} at the first problem. Put it behind the
 * gateway next to an {@link dev.fourtuple.gateway.demo.EchoBackend}, which echoes {@code /ws}.
 */
public final class PageBackend implements AutoCloseable {
    public static final int MESSAGES = 100;
    public static final String PAGE = """
            <!doctype html>
            <html><head><meta charset="utf-8"><title>running</title></head><body><script>
            const total = %d;
            let echoed = 0, done = false;
            const finish = title => { if (!done) { done = true; document.title = title; } };
            const message = i => 'message ' + i + ' ' + 'x'.repeat(i * 97) + ' \\u00e9\\u4e2d\\ud83d\\ude00';
            const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
            let ws;
            try {
              ws = new WebSocket(scheme + location.host + '/ws');
            } catch (e) {
              finish('fail: new WebSocket threw ' + e);
            }
            ws.onopen = () => { for (let i = 0; i < total; i++) ws.send(message(i)); };
            ws.onmessage = event => {
              if (event.data !== message(echoed)) {
                finish('fail: echo ' + echoed + ' differs: ' + String(event.data).slice(0, 40));
                ws.close();
              } else if (++echoed === total) {
                finish('ok ' + echoed);
                ws.close(1000, 'done');
              }
            };
            ws.onerror = () => finish('fail: websocket error after ' + echoed + ' echoes');
            ws.onclose = event => finish('fail: closed (' + event.code + ') after ' + echoed + ' echoes');
            </script></body></html>
            """.formatted(MESSAGES);

    private final HttpServer server;
    private final ExecutorService executor;

    private PageBackend(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /** Serves on 127.0.0.1, a port of its own. */
    public static PageBackend start() throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        ExecutorService executor = Executors.newFixedThreadPool(2);
        byte[] page = PAGE.getBytes(StandardCharsets.UTF_8);
        server.createContext("/page", exchange -> {
            exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
            exchange.getResponseHeaders().set("Cache-Control", "no-store");
            exchange.sendResponseHeaders(200, page.length);
            try (OutputStream body = exchange.getResponseBody()) {
                body.write(page);
            }
        });
        server.setExecutor(executor);
        server.start();
        return new PageBackend(server, executor);
    }

    /** "127.0.0.1:PORT", for a cluster's backends. */
    public String hostPort() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
