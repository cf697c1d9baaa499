package dev.fourtuple.gateway.testing;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * A headless Chromium (Debian package {@code chromium}) that opens one URL, driven over the DevTools protocol:
 * {@link #evaluate} runs a JavaScript expression in the page ({@code Runtime.evaluate}) and returns its value as
 * a string. The DevTools port is the one Chromium picked itself ({@code --remote-debugging-port=0}, read from
 * {@code USER_DATA_DIR/DevToolsActivePort}). {@link #close} kills Chromium's whole process tree by pid.
 *
 * <p>Chromium is required, not optional: without it {@link #launch} fails (CI installs it, see .ci/run).
 */
public final class Chromium implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration START = Duration.ofSeconds(20);

    private final Process process;
    private final Path log;
    private final WebSocket devtools;
    private final AtomicInteger ids = new AtomicInteger();
    private final Map<Integer, CompletableFuture<JsonNode>> pending;

    private Chromium(Process process, Path log, WebSocket devtools, Map<Integer, CompletableFuture<JsonNode>> pending) {
        this.process = process;
        this.log = log;
        this.devtools = devtools;
        this.pending = pending;
    }

    /** The chromium binary on PATH; an AssertionError naming the package when there is none. */
    public static Path binary() {
        for (String name : List.of("chromium", "chromium-browser")) {
            for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
                Path candidate = Path.of(dir, name);
                if (Files.isExecutable(candidate)) {
                    return candidate;
                }
            }
        }
        throw new AssertionError("chromium is not installed (Debian: apt-get install --no-install-recommends "
                + "chromium; .ci/run installs it): the browser tests cannot run without it");
    }

    /**
     * Starts Chromium headless on {@code url}, its profile and log in {@code dir}, and connects to the page's
     * DevTools endpoint.
     *
     * @param trustedKey the public key of the one server certificate to accept although no CA Chromium trusts
     *                   issued it ({@code --ignore-certificate-errors-spki-list}: other certificates still fail),
     *                   or null to accept none such
     */
    public static Chromium launch(URI url, Path dir, java.security.@Nullable PublicKey trustedKey) throws Exception {
        Path profile = Files.createDirectories(dir.resolve("chromium-profile"));
        Path log = dir.resolve("chromium.log");
        List<String> command = new ArrayList<>(List.of(binary().toString(),
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--no-first-run", "--no-default-browser-check",
                "--user-data-dir=" + profile, "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1"));
        if (trustedKey != null) {
            // base64(SHA-256(SubjectPublicKeyInfo)), the pin format of Chromium's switch.
            byte[] spki = java.security.MessageDigest.getInstance("SHA-256").digest(trustedKey.getEncoded());
            command.add("--ignore-certificate-errors-spki-list=" + java.util.Base64.getEncoder().encodeToString(spki));
        }
        command.add(url.toString());
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            Path portFile = profile.resolve("DevToolsActivePort");
            int port = await("Chromium writes " + portFile).atMost(START).pollInterval(Duration.ofMillis(50))
                    .until(() -> devToolsPort(portFile, process, log), p -> p > 0);
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            String pageSocket = await("a page target on DevTools port " + port).atMost(START)
                    .pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                    .until(() -> pageSocket(http, port), s -> !s.isEmpty());
            Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
            WebSocket socket = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5))
                    .buildAsync(URI.create(pageSocket), new Replies(pending)).get(10, TimeUnit.SECONDS);
            return new Chromium(process, log, socket, pending);
        } catch (Exception | Error e) {
            kill(process);
            throw e;
        }
    }

    private static int devToolsPort(Path portFile, Process process, Path log) throws IOException {
        if (!process.isAlive()) {
            throw new AssertionError("chromium exited with " + process.exitValue() + ":\n" + Files.readString(log));
        }
        if (!Files.exists(portFile)) {
            return 0;
        }
        List<String> lines = Files.readAllLines(portFile);
        return lines.isEmpty() || lines.get(0).isBlank() ? 0 : Integer.parseInt(lines.get(0).trim());
    }

    /** The webSocketDebuggerUrl of the first target of type "page", or "" while there is none. */
    private static String pageSocket(HttpClient http, int port) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                + "/json/list")).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        for (JsonNode target : JSON.readTree(response.body())) {
            if (target.path("type").asText().equals("page") && target.has("webSocketDebuggerUrl")) {
                return target.get("webSocketDebuggerUrl").asText();
            }
        }
        return "";
    }

    /** {@code expression}'s value in the page, as a string ({@code String(value)}); fails on a JS exception. */
    public String evaluate(String expression) throws Exception {
        int id = ids.incrementAndGet();
        CompletableFuture<JsonNode> reply = new CompletableFuture<>();
        pending.put(id, reply);
        String request = JSON.writeValueAsString(Map.of("id", id, "method", "Runtime.evaluate",
                "params", Map.of("expression", "String(" + expression + ")", "returnByValue", true)));
        devtools.sendText(request, true).get(5, TimeUnit.SECONDS);
        JsonNode result = reply.get(10, TimeUnit.SECONDS);
        if (result.has("error") || result.path("result").has("exceptionDetails")) {
            throw new IllegalStateException("Runtime.evaluate(" + expression + ") failed: " + result);
        }
        return result.path("result").path("result").path("value").asText();
    }

    /** What Chromium printed (its own errors: a failed load, a certificate it refused). */
    public String logText() {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    /** Kills Chromium and every process it started (renderer, GPU, zygote), children first. */
    @Override
    public void close() {
        devtools.abort();
        kill(process);
    }

    private static void kill(Process process) {
        List<ProcessHandle> tree = new ArrayList<>(process.descendants().toList());
        tree.forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
            for (ProcessHandle child : tree) {
                child.onExit().get(10, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            throw new IllegalStateException("chromium (pid " + process.pid() + ") did not exit", e);
        }
    }

    /**
     * Collects the DevTools socket's text messages (possibly in parts) and completes the request each replies to
     * (by its id); events (no id) are dropped.
     */
    private static final class Replies implements WebSocket.Listener {
        private final Map<Integer, CompletableFuture<JsonNode>> pending;
        private final StringBuilder partial = new StringBuilder();

        Replies(Map<Integer, CompletableFuture<JsonNode>> pending) {
            this.pending = pending;
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                String text = partial.toString();
                partial.setLength(0);
                try {
                    JsonNode json = JSON.readTree(text);
                    CompletableFuture<JsonNode> reply = json.has("id") ? pending.remove(json.get("id").asInt()) : null;
                    if (reply != null) {
                        reply.complete(json);
                    }
                } catch (IOException e) {
                    throw new IllegalStateException("DevTools sent what is not JSON: " + text, e);
                }
            }
            webSocket.request(1);
            return null;
        }
    }
}
