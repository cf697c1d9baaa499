package dev.fourtuple.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.demo.EchoBackend;
import dev.fourtuple.gateway.testing.GatewayProcess;
import dev.fourtuple.gateway.transport.TransportKind;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code run} as a real process: a taken port, SIGTERM during a request, and SIGTERM while starting. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RunCommandTest {

    @TempDir
    Path dir;

    @Test
    void aTakenPortExits1WithOneLineNamingTheAddress() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            try (GatewayProcess gateway = GatewayProcess.start(dir, "listen = \"127.0.0.1:" + taken.getLocalPort()
                    + "\"\ntransport = nio\nadmin.listen = off\nclusters { c { backends = [\"127.0.0.1:9\"] } }\nroutes = [ { cluster = c } ]\n",
                    0)) {
                assertThat(gateway.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
                assertThat(gateway.process().exitValue()).isEqualTo(1);
                assertThat(gateway.logText()).contains("listen: 127.0.0.1:" + taken.getLocalPort() + ": cannot bind")
                        .doesNotContain("\tat ");
            }
        }
    }

    @Test
    void sigtermLetsTheRequestInFlightFinishThenExits0() throws Exception {
        try (EchoBackend backend = EchoBackend.start(new InetSocketAddress("127.0.0.1", 0), "b", TransportKind.NIO, 1);
                GatewayProcess gateway = GatewayProcess.start(dir, "listen = \"127.0.0.1:0\"\nadmin.listen = off\ndrain-timeout = 10s\n"
                        + "clusters { c { backends = [\"127.0.0.1:" + backend.address().getPort() + "\"] } }\n"
                        + "routes = [ { cluster = c, long-poll = true } ]\n", 0)) {
            URI uri = URI.create("http://127.0.0.1:" + gateway.awaitPort(Duration.ofSeconds(20)) + "/poll?wait=1500");
            CompletableFuture<HttpResponse<String>> pending = HttpClient.newHttpClient()
                    .sendAsync(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
            await().atMost(Duration.ofSeconds(10)).until(() -> backend.openConnections() == 1);

            int exit = gateway.terminate(Duration.ofSeconds(20)); // SIGTERM

            HttpResponse<String> response = pending.get(20, TimeUnit.SECONDS);
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).isEqualTo("polled after 1500 ms\n");
            assertThat(exit).isZero();
            assertThat(gateway.logText()).contains("SIGTERM: draining").contains("stopped");
        }
    }

    @Test
    void sigtermWhileStartingDrainsWhatWasStartedThenExits0() throws Exception {
        try (GatewayProcess gateway = GatewayProcess.start(dir, "listen = \"127.0.0.1:0\"\nadmin.listen = off\n"
                + "clusters { c { backends = [\"127.0.0.1:9\"] } }\nroutes = [ { cluster = c } ]\n", 0)) {
            // The transport line comes from inside the start, after the signal handlers are in place and before
            // the listener is bound: a signal now lands while the gateway is half started.
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(2))
                    .until(() -> gateway.logText().contains("transport ") || !gateway.process().isAlive());

            int exit = gateway.terminate(Duration.ofSeconds(20)); // SIGTERM

            assertThat(exit).isZero();
            assertThat(gateway.logText()).contains("SIGTERM: draining").contains("draining: listener closed")
                    .contains("stopped");
        }
    }
}
