package dev.fourtuple.gateway.testing;

import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.Main;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The gateway as a real child process ({@code Main run --config FILE}), for what only a process can show:
 * its exit code, its signals, its own file-descriptor limit, its own JVM memory limits. Output goes to a file
 * (not a pipe, which the JDK drains and closes at exit), which tests read.
 */
public final class GatewayProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");
    private static final Pattern ADMIN = Pattern.compile("admin on http://127\\.0\\.0\\.1:(\\d+)/");
    private static final Pattern SUCCESSOR = Pattern.compile("upgrade: started successor pid (\\d+)");

    private final Process process;
    private final Path log;

    private GatewayProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /**
     * Starts {@code run --config dir/gateway.conf} with the given JVM options; with {@code openFiles > 0} under
     * {@code ulimit -n openFiles} (soft and hard, like {@code prlimit --nofile=N:N}).
     */
    public static GatewayProcess start(Path dir, String config, int openFiles, String... jvmOptions) throws IOException {
        return start(dir, config, openFiles, Map.of(), jvmOptions);
    }

    /** As {@link #start(Path, String, int, String...)}, with extra environment variables (NOTIFY_SOCKET...). */
    public static GatewayProcess start(Path dir, String config, int openFiles, Map<String, String> env,
            String... jvmOptions) throws IOException {
        Path file = dir.resolve("gateway.conf");
        Files.writeString(file, config);
        Path log = dir.resolve("gateway.log");
        List<String> java = mainCommand(List.of(jvmOptions), "run", "--config", file.toString());
        List<String> command = new ArrayList<>();
        if (openFiles > 0) {
            command.addAll(List.of("bash", "-c", "ulimit -n " + openFiles + " && exec \"$@\"", "bash"));
        }
        command.addAll(java);
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(env);
        Process process = builder.start();
        return new GatewayProcess(process, log);
    }

    /** {@code java [jvmOptions] -cp <this test's class path> dev.fourtuple.gateway.Main arguments...}. */
    static List<String> mainCommand(List<String> jvmOptions, String... arguments) {
        List<String> java = new ArrayList<>();
        java.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        java.addAll(jvmOptions);
        java.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        java.addAll(List.of(arguments));
        return java;
    }

    /** Waits for the "listening on" line and returns the port. */
    public int awaitPort(Duration timeout) {
        return await().atMost(timeout).pollInterval(Duration.ofMillis(50))
                .until(this::listeningPort, port -> port > 0 || !process.isAlive());
    }

    public InetSocketAddress address(Duration timeout) {
        int port = awaitPort(timeout);
        if (port <= 0) {
            throw new AssertionError("gateway exited before listening:\n" + logText());
        }
        return new InetSocketAddress("127.0.0.1", port);
    }

    private int listeningPort() throws IOException {
        Matcher m = LISTENING.matcher(logText());
        return m.find() ? Integer.parseInt(m.group(1)) : 0;
    }

    /** The admin server's base URI (config: admin.listen = "127.0.0.1:0"), once it is up. */
    public URI admin(Duration timeout) {
        int port = await().atMost(timeout).pollInterval(Duration.ofMillis(50)).until(() -> {
            Matcher m = ADMIN.matcher(logText());
            return m.find() ? Integer.parseInt(m.group(1)) : 0;
        }, p -> p > 0);
        return URI.create("http://127.0.0.1:" + port);
    }

    /**
     * GET on the admin server: the body (status code ignored). One connection per call, closed after the
     * answer, so polling leaves no keep-alive connections (and fds) behind in the gateway.
     */
    public String adminGet(String path) throws IOException {
        return adminGet(admin(Duration.ofSeconds(10)), path);
    }

    /** {@link #adminGet(String)} on the admin server at {@code admin} (e.g. a successor's: {@link #lastAdmin}). */
    public static String adminGet(URI admin, String path) throws IOException {
        try (RawHttp raw = RawHttp.connect(new InetSocketAddress(admin.getHost(), admin.getPort()), 10_000)) {
            String response = raw.send("GET " + path + " HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n")
                    .readUntilClose();
            int body = response.indexOf("\r\n\r\n");
            return body < 0 ? "" : response.substring(body + 4);
        }
    }

    /**
     * The pid of the successor this process started on an upgrade (its output goes to the same log), once it
     * has; {@link #close()} stops it too.
     */
    public long successorPid(Duration timeout) {
        return await().atMost(timeout).pollInterval(Duration.ofMillis(50)).until(() -> {
            Matcher m = SUCCESSOR.matcher(logText());
            return m.find() ? Long.parseLong(m.group(1)) : 0L;
        }, pid -> pid > 0);
    }

    /** The admin base URI of the last process in this log to start its admin server (a successor's, after one). */
    public URI lastAdmin() {
        Matcher m = ADMIN.matcher(logText());
        int port = 0;
        while (m.find()) {
            port = Integer.parseInt(m.group(1));
        }
        if (port == 0) {
            throw new AssertionError("no admin server in the log yet");
        }
        return URI.create("http://127.0.0.1:" + port);
    }

    /** Everything the process printed so far. */
    public String logText() {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public Process process() {
        return process;
    }

    /** Sends a signal (e.g. "HUP") to the gateway process. */
    public void signal(String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, String.valueOf(process.pid())).start();
        if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new IOException("kill -" + name + " " + process.pid() + " failed");
        }
    }

    /** Sends SIGTERM and waits for the exit code. */
    public int terminate(Duration timeout) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("gateway did not exit within " + timeout + ":\n" + logText());
        }
        return process.exitValue();
    }

    @Override
    public void close() {
        Matcher successors = SUCCESSOR.matcher(logText());
        while (successors.find()) { // started by the process this test started: stopped with it
            ProcessHandle.of(Long.parseLong(successors.group(1))).ifPresent(successor -> {
                successor.destroyForcibly();
                successor.onExit().orTimeout(10, TimeUnit.SECONDS).exceptionally(e -> null).join();
            });
        }
        if (process.isAlive()) {
            process.destroyForcibly(); // (this also closes the streams: only when a test failed)
        }
    }
}
