package dev.fourtuple.gateway.inbound;

import dev.fourtuple.gateway.transport.SocketOptions;
import dev.fourtuple.gateway.config.SocketSettings;
import java.nio.file.Path;
import dev.fourtuple.gateway.config.ConfigProblems;
import dev.fourtuple.gateway.config.ConfigLoader;
import dev.fourtuple.gateway.config.AdmissionSettings;
import dev.fourtuple.gateway.admission.AdmissionController;
import dev.fourtuple.gateway.upstream.PortLedger;
import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fourtuple.gateway.config.BalancerKind;
import dev.fourtuple.gateway.config.ClusterConfig;
import dev.fourtuple.gateway.config.Limits;
import dev.fourtuple.gateway.connection.ConnectionRegistry;
import dev.fourtuple.gateway.config.RouteConfig;
import dev.fourtuple.gateway.config.Timeouts;
import dev.fourtuple.gateway.config.UpstreamSettings;
import dev.fourtuple.gateway.metrics.Problem;
import dev.fourtuple.gateway.metrics.ProblemLog;
import dev.fourtuple.gateway.route.Router;
import dev.fourtuple.gateway.timeout.TimerWheel;
import dev.fourtuple.gateway.transport.EventLoops;
import dev.fourtuple.gateway.transport.PerLoop;
import dev.fourtuple.gateway.transport.TransportKind;
import dev.fourtuple.gateway.tunnel.TunnelMeters;
import dev.fourtuple.gateway.upstream.Cluster;
import dev.fourtuple.gateway.upstream.UpstreamConnector;
import dev.fourtuple.gateway.upstream.UpstreamMeters;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCounted;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The client side of the gateway on an {@link EmbeddedChannel} with the production pipeline
 * ({@link FrontendInitializer}: {@code [codec: HttpServerCodec] → [proxy: HttpProxyHandler]}), fed raw bytes.
 * Only paths that never reach a backend: the one cluster's backend (127.0.0.1:1) is never contacted.
 */
class HttpProxyHandlerTest {
    private static final SocketSettings SOCKET = new SocketSettings(0, 0, true, null, Duration.ZERO, 0,
            64 * 1024, 32 * 1024, 64, 2048, 64 * 1024);
    private static final Duration HEADER_TIMEOUT = Duration.ofSeconds(10);
    private static final int MAX_INITIAL_LINE = 256;
    private static final int MAX_HEADER_SIZE = 1024;
    private static final long MAX_BODY = 1024;

    private static EventLoops upstreamLoops;
    private static UpstreamConnector connector;

    private SimpleMeterRegistry registry;
    private ProblemLog problems;
    private InboundMeters meters;
    private FrontendInitializer initializer;
    private Frontends frontends;
    private TimerWheel wheel;
    private Cluster app;
    private EmbeddedChannel ch;
    /** Time since the wheel started, as advanced by this test. */
    private long elapsedMs;
    private final Seen seen = new Seen();

    /** Records every reference-counted message the codec hands to the proxy, to check it was released. */
    private static final class Seen extends ChannelInboundHandlerAdapter {
        final List<ReferenceCounted> messages = new ArrayList<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ReferenceCounted counted && msg != LastHttpContent.EMPTY_LAST_CONTENT) {
                messages.add(counted);
            }
            ctx.fireChannelRead(msg);
        }
    }

    @BeforeAll
    static void startConnector() {
        upstreamLoops = EventLoops.start(TransportKind.NIO, 1, "test-upstream");
        PerLoop<TimerWheel> upstreamWheels = upstreamLoops.perLoop(TimerWheel::start);
        connector = new UpstreamConnector(upstreamLoops, upstreamWheels, new UpstreamSettings(SOCKET, 0, Duration.ofSeconds(30), List.of(), null, true),
                Duration.ofSeconds(1), new PortLedger(100, false), new UpstreamMeters(new SimpleMeterRegistry()));
    }

    @AfterAll
    static void stopConnector() {
        upstreamLoops.shutdown(Duration.ofSeconds(5));
    }

    @BeforeEach
    void createChannel() {
        registry = new SimpleMeterRegistry();
        problems = new ProblemLog(registry, Duration.ofMinutes(1));
        meters = new InboundMeters(registry);
        ch = new EmbeddedChannel();
        ch.freezeTime();
        EventLoop loop = ch.eventLoop();
        PerLoop<TimerWheel> wheels = PerLoop.of(List.of(loop), TimerWheel::start);
        wheel = wheels.get(loop);

        app = Cluster.of(new ClusterConfig("app",
                List.of(new InetSocketAddress("127.0.0.1", 1)), BalancerKind.ROUND_ROBIN, null), List.of(),
                new PortLedger(100, false));
        Router router = new Router(List.of(new RouteConfig("app.example", "/", "app", false, null)),
                Map.of("app", app));
        Timeouts timeouts = new Timeouts(HEADER_TIMEOUT, Duration.ofSeconds(60), Duration.ofSeconds(30),
                Duration.ZERO, Duration.ofMinutes(5), Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ZERO);
        Limits limits = new Limits(MAX_INITIAL_LINE, MAX_HEADER_SIZE, MAX_BODY, 0);
        frontends = new Frontends(new AtomicReference<>(new FrontendSettings(router, timeouts, limits,
                SocketOptions.of(SOCKET, TransportKind.NIO, "downstream"), 1)),
                wheels, PerLoop.of(List.of(loop), ConnectionRegistry::new),
                connector, meters, new TunnelMeters(registry), problems, admissionOff(registry));
        initializer = frontends.initializer(new ListenerIdentity("test", false), null);
    }

    @AfterEach
    void releaseStragglers() {
        ch.finishAndReleaseAll(); // a test that failed early may have left its response unread
        // A message the gateway failed to release has already failed its test (assertEverythingReleased);
        // released here so that the leak detector does not fail the whole class a second time.
        for (ReferenceCounted message : seen.messages) {
            if (message.refCnt() > 0) {
                message.release(message.refCnt());
            }
        }
        wheel.stop();
    }

    /** The client connects {@code afterMs} after the wheel started: the pipeline is built and goes active. */
    private void connect(long afterMs) {
        advanceTo(afterMs);
        ch.pipeline().addLast(initializer);
        ch.pipeline().addAfter(FrontendInitializer.DECODER, "seen", seen);
        ch.pipeline().fireChannelActive();
    }

    private void connect() {
        connect(0);
    }

    private void send(String raw) {
        ch.writeInbound(Unpooled.copiedBuffer(raw, US_ASCII));
    }

    private String response() {
        StringBuilder text = new StringBuilder();
        Object msg;
        while ((msg = ch.readOutbound()) != null) {
            ByteBuf buf = (ByteBuf) msg;
            try {
                text.append(buf.toString(US_ASCII));
            } finally {
                buf.release();
            }
        }
        return text.toString();
    }

    /** Moves the clock to {@code toMs}, stopping at every 100 ms tick of the wheel to run it on time. */
    private void advanceTo(long toMs) {
        while (elapsedMs < toMs) {
            long step = Math.min(100 - elapsedMs % 100, toMs - elapsedMs);
            ch.advanceTimeBy(step, TimeUnit.MILLISECONDS);
            elapsedMs += step;
            ch.runScheduledPendingTasks();
        }
    }

    private void assertEverythingReleased() {
        assertThat(seen.messages).as("every message the HTTP decoder produced is released")
                .allSatisfy(message -> assertThat(message.refCnt()).as(message.toString()).isZero());
    }

    /** The connection is gone and left nothing behind: no wheel entry, no open-connection count. */
    private void assertClosedCleanly() {
        ch.runPendingTasks();
        assertThat(ch.isOpen()).as("connection closed").isFalse();
        assertThat(wheel.size()).as("the connection's wheel entry is unregistered").isZero();
        assertThat(meters.active()).isZero();
        assertEverythingReleased();
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    /** Exactly these problems were reported, each once: one per rejected connection, nothing after it. */
    private void assertProblems(Problem... expected) {
        ch.runPendingTasks(); // let a close that was asked for take effect first
        Map<Problem, Long> reported = new EnumMap<>(Problem.class);
        for (Problem problem : Problem.values()) {
            if (problems.count(problem) > 0) {
                reported.put(problem, problems.count(problem));
            }
        }
        Map<Problem, Long> wanted = new EnumMap<>(Problem.class);
        for (Problem problem : expected) {
            wanted.put(problem, 1L);
        }
        assertThat(reported).as("problems reported").isEqualTo(wanted);
    }

    private static void assertErrorResponse(String response, int status, String reason) {
        String body = status + " " + reason + "\n";
        assertThat(response)
                .startsWith("HTTP/1.1 " + status + " " + reason + "\r\n")
                .containsIgnoringCase("\r\nconnection: close\r\n")
                .containsIgnoringCase("\r\ncontent-length: " + body.length() + "\r\n")
                .endsWith("\r\n\r\n" + body);
    }

    @Test
    void pipelineIsTheCodecThenTheProxy() {
        connect();

        assertThat(ch.pipeline().get(FrontendInitializer.ENCODER)).isInstanceOf(FrontendResponseEncoder.class);
        assertThat(ch.pipeline().get(FrontendInitializer.DECODER)).isInstanceOf(FrontendRequestDecoder.class);
        assertThat(ch.pipeline().get(FrontendInitializer.PROXY)).isInstanceOf(HttpProxyHandler.class);
        assertThat(meters.active()).isEqualTo(1);
        assertThat(wheel.size()).as("the connection registered its timer").isEqualTo(1);
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    @Test
    void noMatchingRouteAnswers404AndCloses() {
        connect();

        send("GET /x HTTP/1.1\r\nHost: elsewhere.example\r\n\r\n");

        assertErrorResponse(response(), 404, "Not Found");
        assertProblems(Problem.NO_ROUTE);
        assertThat(registry.get("fourtuple.requests").counter().count()).isEqualTo(1);
        assertClosedCleanly();
    }

    @Test
    void requestWithoutHostMatchesNoHostRoute() {
        connect();

        send("GET / HTTP/1.0\r\n\r\n");

        assertErrorResponse(response(), 404, "Not Found");
        assertProblems(Problem.NO_ROUTE);
        assertClosedCleanly();
    }

    @Test
    void requestsPipelinedBehindARejectedOneAreDropped() {
        connect();

        send("GET /a HTTP/1.1\r\nHost: elsewhere.example\r\n\r\n"
                + "GET /b HTTP/1.1\r\nHost: elsewhere.example\r\n\r\n");

        assertErrorResponse(response(), 404, "Not Found");
        assertProblems(Problem.NO_ROUTE); // the second request came after the connection began closing
        assertClosedCleanly();
    }

    @Test
    void routableRequestPipelinedBehindARejectedOneIsNotForwarded() {
        connect();

        send("GET /a HTTP/1.1\r\nHost: elsewhere.example\r\n\r\n"
                + "POST /orders HTTP/1.1\r\nHost: app.example\r\nContent-Length: 2\r\n\r\n{}");

        assertErrorResponse(response(), 404, "Not Found");
        assertClosedCleanly();
        // Had the POST gone on, it would have picked the backend and asked the connector for a connection
        // (here that fails as INTERNAL: the test's connector serves other loops), then been cut off as
        // CLIENT_CLOSED when the close took effect.
        assertProblems(Problem.NO_ROUTE);
        assertThat(app.backends().get(0).active()).isZero();
    }

    @Test
    void malformedRequestLineAnswers400() {
        connect();

        send("this is not http\r\n\r\n");

        assertErrorResponse(response(), 400, "Bad Request");
        assertProblems(Problem.BAD_REQUEST);
        assertClosedCleanly();
    }

    @Test
    void requestLineLongerThanTheLimitAnswers414() {
        connect();

        send("GET /" + "a".repeat(MAX_INITIAL_LINE + 50) + " HTTP/1.1\r\nHost: app.example\r\n\r\n");

        assertErrorResponse(response(), 414, "Request-URI Too Long");
        assertProblems(Problem.URI_TOO_LONG);
        assertClosedCleanly();
    }

    @Test
    void headersLargerThanTheLimitAnswer431() {
        connect();

        send("GET / HTTP/1.1\r\nHost: app.example\r\nX-Big: " + "b".repeat(MAX_HEADER_SIZE + 100) + "\r\n\r\n");

        assertErrorResponse(response(), 431, "Request Header Fields Too Large");
        assertProblems(Problem.HEADERS_TOO_LARGE);
        assertClosedCleanly();
    }

    @Test
    void declaredBodyAboveTheLimitAnswers413WithoutContactingABackend() {
        connect();

        send("POST /upload HTTP/1.1\r\nHost: app.example\r\nContent-Length: " + (MAX_BODY + 1) + "\r\n\r\n"
                + "x".repeat(100));

        assertErrorResponse(response(), 413, "Request Entity Too Large");
        assertProblems(Problem.BODY_TOO_LARGE);
        assertThat(seen.messages).as("the body piece reached the proxy").isNotEmpty();
        assertClosedCleanly();
    }

    @Test
    void silentConnectionGets408AfterHeaderTimeout() {
        connect();

        advanceTo(HEADER_TIMEOUT.toMillis() - 100);
        assertThat(ch.isOpen()).isTrue();
        assertThat(response()).isEmpty();

        advanceTo(HEADER_TIMEOUT.toMillis());
        assertErrorResponse(response(), 408, "Request Timeout");
        assertProblems(Problem.HEADER_TIMEOUT);
        assertClosedCleanly();
    }

    @Test
    void incompleteHeadGets408AfterHeaderTimeout() {
        connect();
        send("GET / HTTP/1.1\r\nHost: app.ex"); // a slow client that never finishes its head

        advanceTo(HEADER_TIMEOUT.toMillis() - 100);
        assertThat(ch.isOpen()).isTrue();
        advanceTo(HEADER_TIMEOUT.toMillis());

        assertErrorResponse(response(), 408, "Request Timeout");
        assertProblems(Problem.HEADER_TIMEOUT);
        assertClosedCleanly();
    }

    @Test
    void connectionOpenedBetweenWheelTicksGets408WithinATickOfHeaderTimeout() {
        connect(50); // real connections arrive at any phase of the 100 ms tick: due at 10.05 s

        advanceTo(HEADER_TIMEOUT.toMillis());
        assertThat(ch.isOpen()).as("not before the header timeout").isTrue();
        advanceTo(HEADER_TIMEOUT.toMillis() + 100);

        assertThat(ch.isOpen()).as("closed within one tick after the header timeout").isFalse();
        assertErrorResponse(response(), 408, "Request Timeout");
        assertProblems(Problem.HEADER_TIMEOUT);
        assertClosedCleanly();
    }

    @Test
    void drainClosesAConnectionWaitingForItsFirstRequest() {
        connect();

        frontends.startDrain();
        ch.runPendingTasks();

        assertThat(response()).as("an idle connection is closed without a response").isEmpty();
        assertProblems();
        assertClosedCleanly();
    }

    @Test
    void clientHalfCloseBeforeAnyRequestCloses() {
        connect();

        ch.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);

        assertThat(response()).isEmpty();
        assertProblems();
        assertClosedCleanly();
    }

    /** Admission switched off (this test drives one connection; refusals are tested elsewhere). */
    private static AdmissionController admissionOff(SimpleMeterRegistry registry) {
        try {
            AdmissionSettings off = ConfigLoader.parse("admission.enabled = false\n"
                    + "clusters { c { backends = [\"127.0.0.1:1\"] } }\nroutes = [ { cluster = c } ]\n", "test")
                    .admission();
            return new AdmissionController(off, registry, () -> 0, Path.of("/proc"), Path.of("/sys/fs/cgroup"));
        } catch (ConfigProblems e) {
            throw new AssertionError(e);
        }
    }
}
