package dev.fourtuple.gateway.integration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.testing.Chromium;
import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.ListenerKind;
import dev.fourtuple.gateway.testing.PageBackend;
import dev.fourtuple.gateway.testing.TestTls;
import dev.fourtuple.gateway.transport.TransportKind;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A real browser through the gateway: headless Chromium loads {@link PageBackend}'s page through the gateway
 * (https on a TLS listener, so the page and its wss:// WebSocket both go through TLS termination; http and
 * ws:// on a plaintext one), and the page's script echoes 100 messages over the WebSocket (to an EchoBackend)
 * and writes its verdict into {@code document.title}, read over the DevTools protocol. Chromium is required:
 * without it the test fails (it is not skipped, in CI or anywhere).
 */
@ParameterizedClass
@MethodSource("dev.fourtuple.gateway.testing.ListenerKind#withTransports")
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class BrowserIntegrationTest {
    @Parameter(0)
    TransportKind transport;
    @Parameter(1)
    ListenerKind listener;

    @RegisterExtension
    final Closer closer = new Closer();
    @TempDir
    Path dir;

    @Test
    void aBrowserPageEchoesAHundredWebSocketMessagesThroughTheGateway() throws Exception {
        PageBackend page = closer.track(PageBackend.start());
        GatewayFixture fixture = closer.track(GatewayFixture.start(transport, listener, 1, backends -> """
                clusters {
                  page { backends = ["%s"] }
                  echo { backends = %s }
                }
                routes = [
                  { path-prefix = "/page", cluster = page }
                  { path-prefix = "/", cluster = echo }
                ]
                """.formatted(page.hostPort(), GatewayFixture.backendList(backends))));

        // The test CA is not in Chromium's trust store: the gateway's one certificate is accepted by its key
        // (any other certificate still fails); TLS itself, and the gateway's handshake with a browser, are real.
        Chromium browser = closer.track(Chromium.launch(fixture.http("/page"), dir,
                listener == ListenerKind.TLS ? TestTls.localhost().certificate().getPublicKey() : null));

        String title = awaitVerdict(browser);
        assertThat(title).as("the page's verdict").isEqualTo("ok " + PageBackend.MESSAGES);
        assertThat(browser.evaluate("location.protocol")).isEqualTo(listener.httpScheme() + ":");
        assertThat(fixture.gateway().tunnelMeters().active() + fixture.gateway().inboundMeters().active())
                .as("the WebSocket went through the gateway").isPositive();
    }

    /** document.title once the script has decided ("ok N" or "fail: ..."), within 30 s. */
    private static String awaitVerdict(Chromium browser) throws Exception {
        AtomicReference<String> last = new AtomicReference<>("(no answer from the page)");
        try {
            return await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                    .until(() -> {
                        String title = browser.evaluate("document.title");
                        last.set(title + " at " + browser.evaluate("location.href"));
                        return title;
                    }, title -> title.startsWith("ok ") || title.startsWith("fail"));
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("the page gave no verdict within 30 s; last seen: " + last.get()
                    + "\nchromium's log:\n" + browser.logText(), e);
        }
    }
}
