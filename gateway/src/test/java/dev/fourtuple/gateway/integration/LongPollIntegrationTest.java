package dev.fourtuple.gateway.integration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.RawHttp;
import dev.fourtuple.gateway.transport.TransportKind;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** Long-poll requests wait as long as their backend takes; only the long-poll timeout may end them. */
@ParameterizedClass
@EnumSource(TransportKind.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LongPollIntegrationTest {
    private static final String SHORT_TIMEOUTS_LONG_POLL_ROUTE = """
            idle-timeout = 1s
            request-timeout = 1s
            clusters { echo { backends = %s } }
            routes = [
              { path-prefix = "/poll", cluster = echo, long-poll = true }
              { path-prefix = "/", cluster = echo }
            ]
            """;

    @Parameter
    TransportKind transport;

    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    @RegisterExtension
    final Closer closer = new Closer();
    private GatewayFixture fixture;


    @Test
    void longPollIsAnsweredAfterFiveSecondsDespiteOneSecondIdleAndRequestTimeouts() throws Exception {
        fixture = closer.track(GatewayFixture.start(transport, 1,
                backends -> String.format(SHORT_TIMEOUTS_LONG_POLL_ROUTE, GatewayFixture.backendList(backends))));
        long start = System.nanoTime();

        HttpResponse<String> response = client.send(HttpRequest.newBuilder(fixture.http("/poll?wait=5000")).build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("polled after 5000 ms\n");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(4900));
    }

    @Test
    void theSameWaitOnAnOrdinaryRouteGets504() throws Exception {
        fixture = closer.track(GatewayFixture.start(transport, 1, backends -> String.format(
                SHORT_TIMEOUTS_LONG_POLL_ROUTE.replace("long-poll = true", "long-poll = false"),
                GatewayFixture.backendList(backends))));

        HttpResponse<String> response = client.send(HttpRequest.newBuilder(fixture.http("/poll?wait=5000"))
                .build(), HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(504);
    }

    @Test
    void longPollTimeoutEndsALongPollWhenSet() throws Exception {
        fixture = closer.track(GatewayFixture.start(transport, 1, backends -> "long-poll-timeout = 500ms\n"
                + String.format(SHORT_TIMEOUTS_LONG_POLL_ROUTE, GatewayFixture.backendList(backends))));

        HttpResponse<String> response = client.send(HttpRequest.newBuilder(fixture.http("/poll?wait=5000")).build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(504);
    }

    @Test
    void aClientGivingUpReleasesTheBackendConnectionAtOnce() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, 1, "long-poll-timeout = off\nrequest-timeout = off"));
        RawHttp raw = RawHttp.connect(fixture.address(), 5000);
        raw.send("GET /poll?wait=20000 HTTP/1.1\r\nHost: t\r\n\r\n");
        await().atMost(Duration.ofSeconds(5)).until(() -> fixture.gateway().upstreamMeters().active() == 1);

        raw.close();

        await().atMost(Duration.ofSeconds(3)).untilAsserted(() -> {
            assertThat(fixture.gateway().upstreamMeters().active()).isZero();
            assertThat(fixture.gateway().inboundMeters().active()).isZero();
        });
    }

    @Test
    void manyConcurrentLongPollsAreAllAnswered() throws Exception {
        fixture = closer.track(GatewayFixture.start(transport, 2,
                backends -> String.format(SHORT_TIMEOUTS_LONG_POLL_ROUTE, GatewayFixture.backendList(backends))));
        List<CompletableFuture<HttpResponse<String>>> polls = new ArrayList<>();
        HttpClient many = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        for (int i = 0; i < 300; i++) {
            polls.add(many.sendAsync(HttpRequest.newBuilder(fixture.http("/poll?wait=2000")).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.gateway().upstreamMeters().active() == 300);
        long threads = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("fourtuple-loop")).count();

        for (CompletableFuture<HttpResponse<String>> poll : polls) {
            assertThat(poll.get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        }
        assertThat(threads).as("300 waiting requests, still only the two event loops").isEqualTo(2);
    }
}
