package dev.fourtuple.gateway.testing;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code fourtuple echo-backend} in a process of its own: for load a test JVM must not carry (its Netty runs the
 * paranoid leak detector, which makes a busy in-process backend the bottleneck of the test).
 */
public final class EchoBackendProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("echo backend \\S+ on 127\\.0\\.0\\.1:(\\d+)");

    private final Process process;
    private final InetSocketAddress address;

    private EchoBackendProcess(Process process, InetSocketAddress address) {
        this.process = process;
        this.address = address;
    }

    /** Starts it on a free port of 127.0.0.1 and waits until it listens. */
    public static EchoBackendProcess start(Path dir, String name) throws IOException {
        Path log = dir.resolve("echo-" + name + ".log");
        Process process = new ProcessBuilder(GatewayProcess.mainCommand(List.of(), "echo-backend", "127.0.0.1:0", name))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            int port = await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).until(() -> {
                Matcher m = LISTENING.matcher(Files.readString(log));
                return m.find() ? Integer.parseInt(m.group(1)) : process.isAlive() ? 0 : -1;
            }, found -> found != 0);
            if (port < 0) {
                throw new IOException("echo backend exited: " + Files.readString(log));
            }
            return new EchoBackendProcess(process, new InetSocketAddress("127.0.0.1", port));
        } catch (RuntimeException | IOException e) {
            process.destroyForcibly();
            throw e;
        }
    }

    public InetSocketAddress address() {
        return address;
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
