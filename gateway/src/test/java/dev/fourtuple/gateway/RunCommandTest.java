package dev.fourtuple.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.demo.EchoBackend;
import dev.fourtuple.gateway.transport.TransportKind;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code run} as a real process: a taken port, and SIGTERM during a request. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RunCommandTest {
    private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");

    @TempDir
    Path dir;

    @Test
    void aTakenPortExits1WithOneLineNamingTheAddress() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            Path config = write("listen = \"127.0.0.1:" + taken.getLocalPort() + "\"\ntransport = nio\n"
                    + "clusters { c { backends = [\"127.0.0.1:9\"] } }\nroutes = [ { cluster = c } ]\n");
            Process process = start(config);

            assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
            String stderr = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(process.exitValue()).isEqualTo(1);
            assertThat(stderr).contains("listen: 127.0.0.1:" + taken.getLocalPort() + ": cannot bind");
            assertThat(stderr).doesNotContain("\tat ");
        }
    }

    @Test
    void sigtermLetsTheRequestInFlightFinishThenExits0() throws Exception {
        try (EchoBackend backend = EchoBackend.start(new InetSocketAddress("127.0.0.1", 0), "b", TransportKind.NIO, 1)) {
            Path config = write("listen = \"127.0.0.1:0\"\ndrain-timeout = 10s\n"
                    + "clusters { c { backends = [\"127.0.0.1:" + backend.address().getPort() + "\"] } }\n"
                    + "routes = [ { cluster = c, long-poll = true } ]\n");
            Path log = dir.resolve("gateway.log");
            Process process = start(config, log);
            try {
                int port = await().atMost(Duration.ofSeconds(20)).until(() -> listeningPort(log), p -> p > 0);
                URI uri = URI.create("http://127.0.0.1:" + port + "/poll?wait=1500");
                CompletableFuture<HttpResponse<String>> pending = HttpClient.newHttpClient()
                        .sendAsync(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
                await().atMost(Duration.ofSeconds(10)).until(() -> backend.openConnections() == 1);

                process.destroy(); // SIGTERM

                HttpResponse<String> response = pending.get(20, TimeUnit.SECONDS);
                assertThat(process.waitFor(20, TimeUnit.SECONDS)).isTrue();
                assertThat(response.statusCode()).isEqualTo(200);
                assertThat(response.body()).isEqualTo("polled after 1500 ms\n");
                assertThat(process.exitValue()).isZero();
                assertThat(Files.readString(log)).contains("SIGTERM: draining").contains("stopped");
            } finally {
                process.destroyForcibly();
            }
        }
    }

    private static int listeningPort(Path log) throws Exception {
        Matcher m = LISTENING.matcher(Files.exists(log) ? Files.readString(log) : "");
        return m.find() ? Integer.parseInt(m.group(1)) : 0;
    }

    private Path write(String text) throws Exception {
        Path file = dir.resolve("gateway.conf");
        Files.writeString(file, text);
        return file;
    }

    private static Process start(Path config) throws Exception {
        return command(config).start();
    }

    /** Starts the gateway with stdout and stderr going to a file: no pipe to drain, nothing lost at exit. */
    private static Process start(Path config, Path log) throws Exception {
        return command(config).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private static ProcessBuilder command(Path config) {
        return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "run", "--config", config.toString());
    }
}
