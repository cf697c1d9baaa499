package dev.fourtuple.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.demo.EchoBackend;
import dev.fourtuple.gateway.testing.GatewayProcess;
import dev.fourtuple.gateway.testing.JvmBreakpoint;
import dev.fourtuple.gateway.transport.TransportKind;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

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
    void aTakenAdminPortExits1WithOneLineNamingTheKey() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            try (GatewayProcess gateway = GatewayProcess.start(dir, "listen = \"127.0.0.1:0\"\ntransport = nio\n"
                    + "admin.listen = \"127.0.0.1:" + taken.getLocalPort() + "\"\n"
                    + "clusters { c { backends = [\"127.0.0.1:9\"] } }\nroutes = [ { cluster = c } ]\n", 0)) {
                assertThat(gateway.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
                assertThat(gateway.process().exitValue()).as("could not start, not an invalid config").isEqualTo(1);
                assertThat(gateway.logText()).contains("admin.listen: 127.0.0.1:" + taken.getLocalPort()
                        + ": cannot bind").doesNotContain("\tat ");
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

    /**
     * The signal lands at an exact point of the start, not wherever a log poll happens to catch it: the start
     * is held (JDWP) at the entry of {@code method}, after the signal handlers are in place, either before
     * anything started ({@code Gateway.start}) or once the listener is bound but before the start returns
     * ({@code SystemdNotifier.ready}, the start's last step). Either way what was started is drained.
     */
    @ParameterizedTest(name = "held at {0}.{1}")
    @CsvSource({"dev.fourtuple.gateway.Gateway, start, false", "dev.fourtuple.gateway.ops.SystemdNotifier, ready, true"})
    void sigtermWhileStartingDrainsWhatWasStartedThenExits0(String className, String method, boolean bound)
            throws Exception {
        try (GatewayProcess gateway = GatewayProcess.start(dir, "listen = \"127.0.0.1:0\"\nadmin.listen = off\n"
                + "clusters { c { backends = [\"127.0.0.1:9\"] } }\nroutes = [ { cluster = c } ]\n", 0,
                JvmBreakpoint.JVM_OPTION)) {
            int jdwp = await().atMost(Duration.ofSeconds(30)).until(() -> jdwpPort(gateway),
                    port -> port > 0 || !gateway.process().isAlive());
            try (JvmBreakpoint start = JvmBreakpoint.attach(jdwp, className, method)) {
                start.awaitHeld(Duration.ofSeconds(30));
                if (bound) {
                    assertThat(accepts(gateway.awaitPort(Duration.ofSeconds(5))))
                            .as("the listener accepts, and the start has not returned").isTrue();
                } else {
                    assertThat(gateway.logText()).doesNotContain("listening on");
                }

                gateway.process().destroy(); // SIGTERM while the start is held

                await().atMost(Duration.ofSeconds(10)).until(() -> gateway.logText().contains("SIGTERM: draining"));
                assertThat(gateway.logText()).as("the drain waits for the start").doesNotContain("draining: listener");
                assertThat(gateway.process().isAlive()).isTrue();
            } // the start goes on

            assertThat(gateway.process().waitFor(20, TimeUnit.SECONDS)).as(gateway.logText()).isTrue();
            assertThat(gateway.process().exitValue()).as(gateway.logText()).isZero();
            String log = gateway.logText();
            assertThat(log).contains("listening on", "SIGTERM: draining", "draining: listener closed", "stopped");
            int signal = log.indexOf("SIGTERM: draining");
            assertThat(signal).as("signalled before the start ended").isLessThan(log.indexOf("draining: listener closed"));
            if (!bound) {
                assertThat(signal).as("signalled before the listener was bound").isLessThan(log.indexOf("listening on"));
            }
        }
    }

    private static int jdwpPort(GatewayProcess gateway) {
        Matcher m = JvmBreakpoint.LISTENING.matcher(gateway.logText());
        return m.find() ? Integer.parseInt(m.group(1)) : 0;
    }

    private static boolean accepts(int port) {
        try (Socket probe = new Socket()) {
            probe.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
