package dev.fourtuple.gateway.testing;

import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * HAProxy (Debian package {@code haproxy}) as a child process, in the foreground ({@code -db}), with the config
 * a test writes; its state is read from the stats socket the config must declare at {@code dir/haproxy.sock}
 * ({@code stats socket <that> level admin}). Required, not optional: without the binary {@link #start} fails
 * (CI installs it, see .ci/run). Stopped by its pid in {@link #close()}.
 */
public final class Haproxy implements AutoCloseable {
    private final Process process;
    private final Path socket;
    private final Path log;
    private final @Nullable InetSocketAddress front;

    private Haproxy(Process process, Path socket, Path log, @Nullable InetSocketAddress front) {
        this.process = process;
        this.socket = socket;
        this.log = log;
        this.front = front;
    }

    /**
     * HAProxy in TCP mode on a free port of 127.0.0.1, relaying each connection to {@code server} with
     * {@code serverOptions} (e.g. {@code send-proxy-v2}); its files in a fresh temporary folder.
     */
    public static Haproxy tcpProxy(InetSocketAddress server, String serverOptions)
            throws IOException, InterruptedException {
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            port = probe.getLocalPort();
        }
        Path dir = Files.createTempDirectory("haproxy-test");
        String config = String.join("\n",
                "global",
                "  maxconn 100",
                "  stats socket " + statsSocket(dir) + " level admin",
                "defaults",
                "  mode tcp",
                "  timeout connect 5s",
                "  timeout client 30s",
                "  timeout server 30s",
                "frontend in",
                "  bind 127.0.0.1:" + port,
                "  default_backend out",
                "backend out",
                "  server gateway " + server.getAddress().getHostAddress() + ":" + server.getPort() + " " + serverOptions,
                "");
        return start(dir, config, new InetSocketAddress("127.0.0.1", port));
    }

    /** The stats socket path a config for {@link #start} declares. */
    public static Path statsSocket(Path dir) {
        return dir.resolve("haproxy.sock");
    }

    /** Checks the config ({@code haproxy -c}), starts it and waits until its stats socket answers. */
    public static Haproxy start(Path dir, String config) throws IOException, InterruptedException {
        return start(dir, config, null);
    }

    private static Haproxy start(Path dir, String config, @Nullable InetSocketAddress front)
            throws IOException, InterruptedException {
        String binary = binary();
        Path file = dir.resolve("haproxy.cfg");
        Files.writeString(file, config);
        Path log = dir.resolve("haproxy.log");
        Process check = new ProcessBuilder(binary, "-c", "-f", file.toString()).redirectErrorStream(true).start();
        String checked = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!check.waitFor(30, TimeUnit.SECONDS) || check.exitValue() != 0) {
            throw new AssertionError("haproxy -c refused the config:\n" + checked + "\n" + config);
        }
        Process process = new ProcessBuilder(binary, "-db", "-f", file.toString()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        Haproxy haproxy = new Haproxy(process, statsSocket(dir), log, front);
        try {
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).ignoreExceptions()
                    .until(() -> {
                        if (!process.isAlive()) {
                            throw new AssertionError("haproxy exited: " + Files.readString(log));
                        }
                        return haproxy.command("show info").contains("Pid:");
                    });
            return haproxy;
        } catch (RuntimeException | Error e) {
            haproxy.close();
            throw e;
        }
    }

    private static String binary() {
        for (String dir : List.of("/usr/sbin", "/usr/bin", "/usr/local/sbin")) {
            Path candidate = Path.of(dir, "haproxy");
            if (Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        throw new AssertionError("haproxy is not installed (Debian: apt-get install --no-install-recommends "
                + "haproxy; .ci/run installs it): the fleet and PROXY protocol tests cannot run without it");
    }

    /** Where a {@link #tcpProxy} listens. */
    public InetSocketAddress address() {
        if (front == null) {
            throw new IllegalStateException("started with a config of the test's own: its listeners are the test's");
        }
        return front;
    }

    /** One command on the stats socket; its whole answer (HAProxy closes after it, no "prompt" mode). */
    public String command(String line) throws IOException {
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket));
            ByteBuffer out = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.US_ASCII));
            while (out.hasRemaining()) {
                channel.write(out);
            }
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            ByteBuffer in = ByteBuffer.allocate(8192);
            while (channel.read(in) >= 0) {
                answer.write(in.array(), 0, in.position());
                in.clear();
            }
            return answer.toString(StandardCharsets.US_ASCII);
        }
    }

    /**
     * The check status of {@code server} in {@code proxy} as {@code show stat} reports it: "UP", "DOWN", or a
     * transition such as "UP 1/2" (going down) and "DOWN 1/2" (coming up); "" when it is not listed.
     */
    public String serverStatus(String proxy, String server) throws IOException {
        String stat = command("show stat");
        int statusColumn = -1;
        for (String row : stat.split("\n")) {
            String[] fields = row.split(",", -1);
            if (row.startsWith("# ")) {
                fields[0] = fields[0].substring(2);
                statusColumn = List.of(fields).indexOf("status");
            } else if (statusColumn >= 0 && fields.length > statusColumn && fields[0].equals(proxy)
                    && fields[1].equals(server)) {
                return fields[statusColumn];
            }
        }
        return "";
    }

    /** Everything HAProxy printed so far (its warnings and alerts; -db logs to stderr). */
    public String logText() {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
