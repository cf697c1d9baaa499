package dev.fourtuple.gateway.testing;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real HAProxy (Debian package {@code haproxy}) in TCP mode in front of one address, started in the
 * foreground ({@code -db}) with a generated config on a free loopback port, killed by its pid on close.
 *
 * <p>HAProxy is required, not optional: without it {@link #start} fails (CI installs it, see .ci/run).
 */
public final class HaproxyProcess implements AutoCloseable {
    private final Process process;
    private final InetSocketAddress address;
    private final Path dir;

    private HaproxyProcess(Process process, InetSocketAddress address, Path dir) {
        this.process = process;
        this.address = address;
        this.dir = dir;
    }

    /** The haproxy binary on PATH; an AssertionError naming the package when there is none. */
    public static Path binary() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(File.pathSeparator)) {
            Path candidate = Path.of(dir, "haproxy");
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        for (String dir : List.of("/usr/sbin", "/usr/local/sbin")) { // not on a non-root PATH
            Path candidate = Path.of(dir, "haproxy");
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        throw new AssertionError("haproxy is not installed (Debian: apt-get install --no-install-recommends "
                + "haproxy; .ci/run installs it): the PROXY protocol tests cannot run without it");
    }

    /**
     * HAProxy listening on a free port of 127.0.0.1, relaying each connection to {@code server} after
     * {@code serverOptions} (e.g. {@code send-proxy-v2}). Returns once it accepts connections.
     */
    public static HaproxyProcess start(InetSocketAddress server, String serverOptions) throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            port = probe.getLocalPort();
        }
        Path dir = Files.createTempDirectory("haproxy-test");
        Path config = dir.resolve("haproxy.cfg");
        Files.writeString(config, String.join("\n",
                "global",
                "  maxconn 100",
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
                ""));
        Process process = new ProcessBuilder(binary().toString(), "-db", "-f", config.toString())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("haproxy.log").toFile())
                .start();
        HaproxyProcess haproxy = new HaproxyProcess(process, new InetSocketAddress("127.0.0.1", port), dir);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try (Socket probe = new Socket()) {
                probe.connect(haproxy.address, 200);
                return haproxy; // the probe itself reaches the gateway too: a connection HAProxy relays and closes
            } catch (IOException notYet) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    haproxy.close();
                    throw new AssertionError("haproxy did not start: " + Files.readString(dir.resolve("haproxy.log")));
                }
                Thread.sleep(20);
            }
        }
    }

    public InetSocketAddress address() {
        return address;
    }

    @Override
    public void close() throws Exception {
        ProcessHandle handle = process.toHandle();
        handle.destroy(); // SIGTERM to its pid
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            handle.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
        }
        try (var files = Files.list(dir)) {
            for (Path file : files.toList()) {
                Files.deleteIfExists(file);
            }
        }
        Files.deleteIfExists(dir);
    }
}
