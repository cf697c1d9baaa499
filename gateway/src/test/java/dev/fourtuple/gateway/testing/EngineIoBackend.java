package dev.fourtuple.gateway.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend that keeps sessions the way engine.io's polling transport does (the transport socket.io falls back
 * to): {@code GET /socket.io/?EIO=4&transport=polling} without a {@code sid} opens a session and answers the
 * open packet {@code 0{"sid":...}} (and, as engine.io's {@code cookie} option does, {@code Set-Cookie: io=SID});
 * later polls ({@code GET}) and posts ({@code POST}) must carry {@code sid=SID} of a session <em>this</em>
 * process opened, else they get engine.io's {@code 400 {"code":1,"message":"Session ID unknown"}}. Sessions live
 * in memory, as they do in a real engine.io server without an adapter: a poll that lands on the other backend
 * fails.
 */
public final class EngineIoBackend implements AutoCloseable {
    private final String name;
    private final HttpServer server;
    private final ExecutorService executor;
    private final Set<String> sessions = ConcurrentHashMap.newKeySet();
    private final Map<String, AtomicInteger> received = new ConcurrentHashMap<>();
    private final AtomicInteger unknown = new AtomicInteger();

    private EngineIoBackend(String name, HttpServer server, ExecutorService executor) {
        this.name = name;
        this.server = server;
        this.executor = executor;
    }

    /** Serves on 127.0.0.1:{@code port} (0 = a port of its own). */
    public static EngineIoBackend start(String name, int port) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 64);
        ExecutorService executor = Executors.newFixedThreadPool(4);
        EngineIoBackend backend = new EngineIoBackend(name, server, executor);
        server.createContext("/socket.io/", backend::handle);
        server.setExecutor(executor);
        server.start();
        return backend;
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            byte[] body = exchange.getRequestBody().readAllBytes();
            String sid = query(exchange.getRequestURI(), "sid");
            if (sid == null) {
                String opened = UUID.randomUUID().toString().replace("-", "");
                sessions.add(opened);
                exchange.getResponseHeaders().add("Set-Cookie", "io=" + opened + "; Path=/; HttpOnly; SameSite=Lax");
                respond(exchange, 200, "0{\"sid\":\"" + opened + "\",\"upgrades\":[],\"pingInterval\":25000,"
                        + "\"pingTimeout\":20000,\"maxPayload\":1000000}");
            } else if (!sessions.contains(sid)) {
                unknown.incrementAndGet();
                respond(exchange, 400, "{\"code\":1,\"message\":\"Session ID unknown\"}");
            } else if (exchange.getRequestMethod().equals("POST")) {
                received.computeIfAbsent(sid, s -> new AtomicInteger()).addAndGet(body.length);
                respond(exchange, 200, "ok");
            } else {
                respond(exchange, 200, "4" + name + ":" + received.getOrDefault(sid, new AtomicInteger()).get());
            }
        }
    }

    private static void respond(HttpExchange exchange, int status, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "text/plain; charset=UTF-8");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static String query(URI uri, String name) {
        String query = uri.getRawQuery();
        if (query == null) {
            return null;
        }
        for (String pair : query.split("&")) {
            if (pair.startsWith(name + "=")) {
                return pair.substring(name.length() + 1);
            }
        }
        return null;
    }

    public String name() {
        return name;
    }

    /** Sessions this backend opened. */
    public Set<String> sessions() {
        return Set.copyOf(sessions);
    }

    /** Requests that named a session this backend does not know (the 400s). */
    public int unknownSessions() {
        return unknown.get();
    }

    public String hostPort() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
