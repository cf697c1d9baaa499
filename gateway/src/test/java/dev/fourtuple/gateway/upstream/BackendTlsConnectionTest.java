package dev.fourtuple.gateway.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.config.BalancerKind;
import dev.fourtuple.gateway.config.ClusterConfig;
import dev.fourtuple.gateway.config.ClusterTls;
import dev.fourtuple.gateway.config.SocketSettings;
import dev.fourtuple.gateway.config.UpstreamSettings;
import dev.fourtuple.gateway.demo.EchoBackend;
import dev.fourtuple.gateway.testing.TestCa;
import dev.fourtuple.gateway.timeout.TimerWheel;
import dev.fourtuple.gateway.transport.EventLoops;
import dev.fourtuple.gateway.transport.PerLoop;
import dev.fourtuple.gateway.transport.TransportKind;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import java.lang.reflect.Field;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The connector against a real TLS backend: a connection is handed out only once its handshake is done, a
 * failed handshake is a failed connect whose tuple comes back, and a pooled TLS connection holds no buffer.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class BackendTlsConnectionTest {
    private static final TestCa CA = TestCa.create("connector root");
    private static final SocketSettings SOCKET = new SocketSettings(0, 0, true, null, Duration.ZERO, 0,
            64 * 1024, 32 * 1024, 64, 2048, 64 * 1024);

    @TempDir
    Path dir;
    private EventLoops loops;
    private UpstreamConnector connector;
    private PortLedger ledger;
    private SslContext serverContext;
    private EchoBackend backend;
    private BackendTls tls;
    private final UpstreamMeters meters = new UpstreamMeters(new SimpleMeterRegistry());

    @BeforeEach
    void start() throws Exception {
        loops = EventLoops.start(TransportKind.NIO, 1, "tls-connector");
        PerLoop<TimerWheel> wheels = loops.perLoop(TimerWheel::start);
        ledger = new PortLedger(100, false);
        connector = new UpstreamConnector(loops, wheels,
                new UpstreamSettings(SOCKET, 8, Duration.ofSeconds(30), List.of(), null, true),
                Duration.ofSeconds(5), ledger, meters);
    }

    @AfterEach
    void stop() {
        connector.closeIdle();
        if (backend != null) {
            backend.close();
        }
        loops.shutdown(Duration.ofSeconds(5));
        if (tls != null) {
            tls.release();
        }
        ReferenceCountUtil.release(serverContext);
    }

    private Backend tlsBackend(String certificateName, boolean verify) throws Exception {
        TestCa.Issued issued = CA.issue(dir, "backend", certificateName);
        serverContext = SslContextBuilder.forServer(issued.cert().toFile(), issued.key().toFile()).build();
        backend = EchoBackend.start(new InetSocketAddress("127.0.0.1", 0), "tls", TransportKind.NIO, 1,
                serverContext);
        ClusterTls settings = new ClusterTls(null, List.of(CA.root()), "localhost", verify, "test:1");
        tls = BackendTls.of(settings);
        Cluster cluster = Cluster.of(new ClusterConfig("app", List.of(backend.address()), BalancerKind.ROUND_ROBIN,
                null, settings), List.of(), ledger, new BackendState.Registry(), tls, Discovered.NONE);
        return cluster.backends().get(0);
    }

    @Test
    void aConnectionIsHandedOutHandshakenAndPooledWithoutAnyBuffer() throws Exception {
        Backend target = tlsBackend("localhost", true);
        EventLoop loop = loops.loops().get(0);

        UpstreamConnectionHandler first = acquire(loop, target).get(5, TimeUnit.SECONDS);
        SslHandler ssl = first.channel().pipeline().get(SslHandler.class);
        assertThat(ssl.handshakeFuture().isSuccess()).as("handshake done before the connection is handed out").isTrue();
        assertThat(ssl.applicationProtocol()).isIn(null, "http/1.1");
        exchange(loop, first).get(5, TimeUnit.SECONDS);

        Channel channel = first.channel();
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(onLoop(loop, () -> cumulation(ssl)))
                .as("the idle pooled connection's SslHandler holds no cumulation buffer").isNull());
        UpstreamConnectionHandler second = acquire(loop, target).get(5, TimeUnit.SECONDS);

        assertThat(second.channel()).as("reused from the pool").isSameAs(channel);
        exchange(loop, second).get(5, TimeUnit.SECONDS);
        assertThat(backend.acceptedConnections()).isEqualTo(1);
        assertThat(meters.connects()).isEqualTo(1);
    }

    @Test
    void aFailedHandshakeIsAFailedConnectAndGivesTheTupleBack() throws Exception {
        Backend target = tlsBackend("wrong.example", true);
        CompletableFuture<Throwable> failed = new CompletableFuture<>();

        loops.loops().get(0).execute(() -> connector.acquire(loops.loops().get(0), target,
                new UpstreamConnector.Callback() {
                    @Override
                    public void onConnected(UpstreamConnectionHandler connection) {
                        failed.completeExceptionally(new AssertionError("connected despite the wrong name"));
                    }

                    @Override
                    public void onConnectFailed(Throwable cause) {
                        failed.complete(cause);
                    }
                }));

        assertThat(failed.get(5, TimeUnit.SECONDS)).isInstanceOf(BackendHandshakeException.class)
                .hasMessageContaining("server name localhost")
                .hasMessageContaining("No subject alternative DNS name matching localhost");
        assertThat(target.consecutiveFailures()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            assertThat(target.tuples().get(0).inUse()).isZero();
            assertThat(meters.active()).isZero();
        });
    }

    @Test
    void withoutVerificationTheWrongNameIsAccepted() throws Exception {
        Backend target = tlsBackend("wrong.example", false);
        EventLoop loop = loops.loops().get(0);

        UpstreamConnectionHandler connection = acquire(loop, target).get(5, TimeUnit.SECONDS);

        exchange(loop, connection).get(5, TimeUnit.SECONDS);
    }

    @Test
    void aConnectAfterAReloadReleasedTheContextFailsCleanly() throws Exception {
        Backend target = tlsBackend("localhost", true);
        Assumptions.assumeTrue(tls.engine().startsWith("openssl"), "only OpenSSL contexts are reference-counted");
        tls.release(); // a reload replaced the cluster's TLS settings; this request picked its backend before
        tls = null;

        Throwable failure = catchThrowable(() -> acquire(loops.loops().get(0), target).get(5, TimeUnit.SECONDS));

        assertThat(failure).isInstanceOf(ExecutionException.class).cause().isInstanceOf(ConnectException.class)
                .hasMessageContaining("replaced by a reload");
        assertThat(target.tuples().get(0).inUse()).isZero();
        assertThat(backend.acceptedConnections()).isZero();
    }

    private CompletableFuture<UpstreamConnectionHandler> acquire(EventLoop loop, Backend target) {
        CompletableFuture<UpstreamConnectionHandler> connected = new CompletableFuture<>();
        loop.execute(() -> connector.acquire(loop, target, new UpstreamConnector.Callback() {
            @Override
            public void onConnected(UpstreamConnectionHandler connection) {
                connected.complete(connection);
            }

            @Override
            public void onConnectFailed(Throwable cause) {
                connected.completeExceptionally(cause);
            }
        }));
        return connected;
    }

    /** One GET on the connection; completes once the response ended and the connection was released. */
    private static CompletableFuture<Void> exchange(EventLoop loop, UpstreamConnectionHandler connection) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        loop.execute(() -> {
            connection.attach(new UpstreamListener() {
                @Override
                public void onResponse(HttpObject message) {
                    boolean last = message instanceof LastHttpContent;
                    ReferenceCountUtil.release(message);
                    if (last) {
                        connection.release();
                        done.complete(null);
                    }
                }

                @Override
                public void onResponseReadComplete() {
                    connection.read();
                }

                @Override
                public void onUpstreamWritable() {
                }

                @Override
                public void onUpstreamClosed(@Nullable Throwable cause) {
                    done.completeExceptionally(new AssertionError("closed: " + cause));
                }
            });
            DefaultFullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
            request.headers().set(HttpHeaderNames.HOST, "localhost");
            connection.write(request);
            connection.flush();
            connection.read();
        });
        return done;
    }

    private static <T> T onLoop(EventLoop loop, java.util.concurrent.Callable<T> task) throws Exception {
        return loop.submit(task).get(5, TimeUnit.SECONDS);
    }

    /** ByteToMessageDecoder's cumulation: what SslHandler keeps of a partial TLS record between reads. */
    private static @Nullable ByteBuf cumulation(SslHandler handler) throws ReflectiveOperationException {
        Field field = ByteToMessageDecoder.class.getDeclaredField("cumulation");
        field.setAccessible(true);
        return (ByteBuf) field.get(handler);
    }
}
