package dev.fourtuple.gateway.integration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.ListenerKind;
import dev.fourtuple.gateway.testing.TestTls;
import dev.fourtuple.gateway.testing.HeldBackend;
import dev.fourtuple.gateway.testing.RawHttp;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Long-poll requests wait as long as their backend takes; only the long-poll timeout may end them. Over every
 * transport, on a plaintext and on a TLS listener.
 */
@ParameterizedClass
@MethodSource("dev.fourtuple.gateway.testing.ListenerKind#withTransports")
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

    @Parameter(0)
    TransportKind transport;
    @Parameter(1)
    ListenerKind listener;

    private final HttpClient client = HttpClient.newBuilder().sslContext(TestTls.clientContext())
            .version(HttpClient.Version.HTTP_1_1).build();
    @RegisterExtension
    final Closer closer = new Closer();
    private GatewayFixture fixture;


    @Test
    void longPollIsAnsweredAfterFiveSecondsDespiteOneSecondIdleAndRequestTimeouts() throws Exception {
        fixture = closer.track(GatewayFixture.start(transport, listener, 1,
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
        fixture = closer.track(GatewayFixture.start(transport, listener, 1, backends -> String.format(
                SHORT_TIMEOUTS_LONG_POLL_ROUTE.replace("long-poll = true", "long-poll = false"),
                GatewayFixture.backendList(backends))));

        HttpResponse<String> response = client.send(HttpRequest.newBuilder(fixture.http("/poll?wait=5000"))
                .build(), HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(504);
    }

    @Test
    void longPollTimeoutEndsALongPollWhenSet() throws Exception {
        fixture = closer.track(GatewayFixture.start(transport, listener, 1, backends -> "long-poll-timeout = 500ms\n"
                + String.format(SHORT_TIMEOUTS_LONG_POLL_ROUTE, GatewayFixture.backendList(backends))));

        HttpResponse<String> response = client.send(HttpRequest.newBuilder(fixture.http("/poll?wait=5000")).build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(504);
    }

    @Test
    void aClientGivingUpReleasesTheBackendConnectionAtOnce() throws Exception {
        fixture = closer.track(GatewayFixture.simple(transport, listener, 1, "long-poll-timeout = off\nrequest-timeout = off"));
        RawHttp raw = fixture.raw(5000);
        raw.send("GET /poll?wait=20000 HTTP/1.1\r\nHost: t\r\n\r\n");
        await().atMost(Duration.ofSeconds(5)).until(() -> fixture.gateway().upstreamMeters().active() == 1);

        raw.close();

        await().atMost(Duration.ofSeconds(3)).untilAsserted(() -> {
            assertThat(fixture.gateway().upstreamMeters().active()).isZero();
            assertThat(fixture.gateway().inboundMeters().active()).isZero();
        });
    }

    /**
     * 300 long-polls wait at once, for longer than request-timeout and idle-timeout, and cost no thread: the
     * backend holds every request until all 300 are in flight (no timer to race), and the threads alive with
     * 300 waiting are those that were alive with one.
     */
    @Test
    void manyConcurrentLongPollsAreAllAnswered() throws Exception {
        HeldBackend held = closer.track(HeldBackend.start());
        fixture = closer.track(GatewayFixture.start(transport, listener, 0, none -> String.format(SHORT_TIMEOUTS_LONG_POLL_ROUTE,
                "[\"127.0.0.1:" + held.address().getPort() + "\"]")));
        // The client's own threads: its selector (started with it) and this fixed pool, started now.
        ThreadPoolExecutor clientThreads = new ThreadPoolExecutor(2, 2, 0, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), new DefaultThreadFactory("poll-client", true));
        clientThreads.prestartAllCoreThreads();
        closer.track(clientThreads::shutdownNow);
        HttpClient many = HttpClient.newBuilder().sslContext(TestTls.clientContext())
                .version(HttpClient.Version.HTTP_1_1).executor(clientThreads).build();
        List<CompletableFuture<HttpResponse<String>>> polls = new ArrayList<>();
        polls.add(poll(many));
        await().pollInSameThread().atMost(Duration.ofSeconds(10)).until(() -> held.holding() == 1);
        Set<Thread> withOneWaiting = Thread.getAllStackTraces().keySet();

        for (int i = 1; i < 300; i++) {
            polls.add(poll(many));
        }
        await().pollInSameThread().atMost(Duration.ofSeconds(20)).until(() -> held.holding() == 300);
        assertThat(fixture.gateway().upstreamMeters().active()).isEqualTo(300);
        assertThat(fixture.gateway().inboundMeters().active()).isEqualTo(300);
        List<String> started = Thread.getAllStackTraces().keySet().stream()
                .filter(thread -> !withOneWaiting.contains(thread)).map(Thread::getName).toList();
        assertThat(started).as("threads started for 299 more waiting requests").isEmpty();
        assertThat(loopThreads()).as("the gateway's event loops").hasSize(2);

        // Past request-timeout and idle-timeout (1 s) for every one of them: the long-poll route waits on.
        await().pollInSameThread().atMost(Duration.ofSeconds(10))
                .until(() -> held.shortestHold().compareTo(Duration.ofMillis(1500)) >= 0);
        assertThat(polls).noneMatch(CompletableFuture::isDone);
        held.release();

        for (CompletableFuture<HttpResponse<String>> poll : polls) {
            HttpResponse<String> response = poll.get(20, TimeUnit.SECONDS);
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).isEqualTo(HeldBackend.BODY);
        }
    }

    private CompletableFuture<HttpResponse<String>> poll(HttpClient client) {
        return client.sendAsync(HttpRequest.newBuilder(fixture.http("/poll/held")).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The distinct threads that run the gateway's loops. */
    private Set<Thread> loopThreads() throws Exception {
        Set<Thread> threads = new HashSet<>();
        for (EventLoop loop : fixture.gateway().eventLoops()) {
            threads.add(loop.submit(Thread::currentThread).get(5, TimeUnit.SECONDS));
        }
        return threads;
    }
}
