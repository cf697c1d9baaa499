package dev.fourtuple.gateway.integration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.Gateway;
import dev.fourtuple.gateway.config.ConfigLoader;
import dev.fourtuple.gateway.demo.EchoBackend;
import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.KernelSockets;
import dev.fourtuple.gateway.testing.RawHttp;
import dev.fourtuple.gateway.transport.TransportKind;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The {@code downstream { }} and {@code upstream { }} socket options reach the gateway's real sockets: the
 * client connection it accepted and the backend connection it opened for it, each read back with
 * getsockopt(2) on the gateway's own descriptor while a request is in flight ({@link KernelSockets}). Every
 * value differs between the two sides and from the defaults, so options applied to the wrong side, or not at
 * all, fail.
 *
 * <p>NIO cannot set TCP_USER_TIMEOUT or TCP_NOTSENT_LOWAT: there they stay at the kernel's 0.
 */
@ParameterizedClass
@EnumSource(TransportKind.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SocketOptionsWiringTest {
    /** One side's configured values; buffers in bytes, as written in KiB below. */
    private record Side(int rcvbuf, int sndbuf, boolean nodelay, int idle, int interval, int count,
            int userTimeoutSeconds, int notsentLowat) {

        String config(String name) {
            return """
                    %s {
                      rcvbuf = %dKiB
                      sndbuf = %dKiB
                      nodelay = %b
                      tcp-keepalive { idle = %ds, interval = %ds, count = %d }
                      user-timeout = %ds
                      notsent-lowat = %dKiB
                    }
                    """.formatted(name, rcvbuf / 1024, sndbuf / 1024, nodelay, idle, interval, count,
                    userTimeoutSeconds, notsentLowat / 1024);
        }
    }

    private static final Side DOWNSTREAM = new Side(48 * 1024, 96 * 1024, false, 41, 13, 5, 9, 20 * 1024);
    private static final Side UPSTREAM = new Side(40 * 1024, 80 * 1024, true, 43, 17, 7, 11, 24 * 1024);
    /** After the reload: all different again, and nodelay flipped on both sides. */
    private static final Side DOWNSTREAM_RELOADED = new Side(56 * 1024, 112 * 1024, true, 47, 19, 3, 5, 28 * 1024);
    private static final Side UPSTREAM_RELOADED = new Side(36 * 1024, 72 * 1024, false, 53, 23, 2, 6, 12 * 1024);
    private static final String UPLOAD_HEAD = "POST /upload HTTP/1.1\r\nHost: wiring.test\r\n"
            + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n";

    @Parameter
    TransportKind transport;

    @RegisterExtension
    final Closer closer = new Closer();
    private GatewayFixture fixture;

    @BeforeEach
    void nativeLibraryForGetsockopt() {
        assumeThat(transport.unavailabilityCause()).as("%s does not load here", transport).isNull();
        assumeThat(KernelSockets.available()).as("getsockopt needs Netty's native library").isTrue();
    }

    private static String config(List<EchoBackend> backends, Side downstream, Side upstream) {
        return downstream.config("downstream") + upstream.config("upstream")
                + "clusters { echo { backends = " + GatewayFixture.backendList(backends) + " } }\n"
                + "routes = [ { path-prefix = \"/\", cluster = echo } ]\n";
    }

    /** A request in flight: its body is not finished, so both its connections stay open. */
    private final class InFlight implements AutoCloseable {
        final RawHttp client;
        final KernelSockets.Connection downstream;
        final KernelSockets.Connection upstream;

        InFlight(Set<Integer> upstreamPortsBefore) throws IOException {
            client = closer.track(RawHttp.connect(fixture.address(), 10_000));
            client.send(UPLOAD_HEAD);
            int gatewayPort = fixture.address().getPort();
            int clientPort = client.socket().getLocalPort();
            downstream = await().atMost(Duration.ofSeconds(10)).until(
                    () -> KernelSockets.established(gatewayPort, clientPort), found -> found.size() == 1).get(0);
            int backendPort = fixture.backend(0).address().getPort();
            List<KernelSockets.Connection> fresh = await().atMost(Duration.ofSeconds(10)).until(
                    () -> KernelSockets.established(-1, backendPort).stream()
                            .filter(c -> !upstreamPortsBefore.contains(c.localPort())).toList(),
                    found -> !found.isEmpty());
            assertThat(fresh).as("one new backend connection for this request").hasSize(1);
            upstream = fresh.get(0);
        }

        /** Ends the upload; the echo comes back through both connections. */
        @Override
        public void close() throws IOException {
            String response = client.send("0\r\n\r\n").readUntilClose();
            assertThat(response).startsWith("HTTP/1.1 200 ").contains("hello");
        }
    }

    private Set<Integer> upstreamPorts() throws IOException {
        return KernelSockets.established(-1, fixture.backend(0).address().getPort()).stream()
                .map(KernelSockets.Connection::localPort).collect(Collectors.toSet());
    }

    private void assertCarries(KernelSockets.Connection connection, Side side, String what) throws IOException {
        KernelSockets.Options options = KernelSockets.options(connection);
        // Linux doubles SO_RCVBUF / SO_SNDBUF; these sizes are far below any rmem_max / wmem_max.
        assertThat(options.rcvbuf()).as("%s SO_RCVBUF", what).isEqualTo(2 * side.rcvbuf());
        assertThat(options.sndbuf()).as("%s SO_SNDBUF", what).isEqualTo(2 * side.sndbuf());
        assertThat(options.nodelay()).as("%s TCP_NODELAY", what).isEqualTo(side.nodelay());
        assertThat(options.keepalive()).as("%s SO_KEEPALIVE", what).isTrue();
        assertThat(List.of(options.keepIdle(), options.keepIntvl(), options.keepCnt()))
                .as("%s TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT", what)
                .containsExactly(side.idle(), side.interval(), side.count());
        if (transport.isNative()) {
            assertThat(options.userTimeoutMillis()).as("%s TCP_USER_TIMEOUT", what)
                    .isEqualTo(side.userTimeoutSeconds() * 1000);
            assertThat(options.notsentLowat()).as("%s TCP_NOTSENT_LOWAT", what).isEqualTo(side.notsentLowat());
        } else {
            assertThat(options.userTimeoutMillis()).as("%s: NIO cannot set TCP_USER_TIMEOUT", what).isZero();
            assertThat(options.notsentLowat()).as("%s: NIO cannot set TCP_NOTSENT_LOWAT", what).isZero();
        }
    }

    @Test
    void clientAndBackendConnectionsCarryTheirSidesOptions() throws Exception {
        fixture = closer.track(GatewayFixture.start(transport, 1,
                backends -> config(backends, DOWNSTREAM, UPSTREAM)));
        assertThat(fixture.gateway().transport()).isEqualTo(transport);

        try (InFlight request = new InFlight(upstreamPorts())) {
            assertCarries(request.downstream, DOWNSTREAM, "accepted client connection");
            assertCarries(request.upstream, UPSTREAM, "backend connection");
        }
    }

    /**
     * IPv4 addresses get AF_INET sockets on both sides, not Netty's default dual-stack AF_INET6: the kernel's
     * TCPv6 socket is 128 bytes larger, paid by every connection. io_uring in Netty 4.2 cannot choose.
     */
    @Test
    void ipv4ClientAndBackendConnectionsAreAfInetSockets() throws Exception {
        fixture = closer.track(GatewayFixture.start(transport, 1,
                backends -> config(backends, DOWNSTREAM, UPSTREAM)));

        try (InFlight request = new InFlight(upstreamPorts())) {
            boolean dualStack = transport == TransportKind.IO_URING;
            assertThat(request.downstream.ipv6()).as("accepted client connection is AF_INET6").isEqualTo(dualStack);
            assertThat(request.upstream.ipv6()).as("backend connection is AF_INET6").isEqualTo(dualStack);
        }
    }

    @Test
    void reloadAppliesToNewConnectionsAndLeavesOpenOnesAlone() throws Exception {
        fixture = closer.track(GatewayFixture.start(transport, 1,
                backends -> config(backends, DOWNSTREAM, UPSTREAM)));
        InFlight before = new InFlight(upstreamPorts());

        fixture.gateway().reload(ConfigLoader.parse("listen = \"127.0.0.1:" + fixture.address().getPort() + "\"\n"
                + "transport = " + transport.configName() + "\nevent-loops = 2\n"
                + config(List.of(fixture.backend(0)), DOWNSTREAM_RELOADED, UPSTREAM_RELOADED), "reloaded"));
        assertThat(fixture.gateway().configVersion()).isEqualTo(2);

        try (InFlight after = new InFlight(upstreamPorts())) {
            assertCarries(after.downstream, DOWNSTREAM_RELOADED, "client connection accepted after the reload");
            assertCarries(after.upstream, UPSTREAM_RELOADED, "backend connection opened after the reload");
            assertCarries(before.downstream, DOWNSTREAM, "client connection accepted before the reload");
            assertCarries(before.upstream, UPSTREAM, "backend connection opened before the reload");
        }
        before.close();
    }

    /**
     * Accepted sockets inherit the listener's options, so a reload sets them on the live listening sockets:
     * keepalive switched off reaches connections accepted after it. A buffer size going back to auto cannot
     * (a set size locks it, on the listener as on any socket): the reload names it as needing a restart and
     * new connections keep the old size on the native transports; NIO sets every option per connection.
     */
    @Test
    void reloadSwitchesKeepaliveOffForNewConnectionsAndNamesBuffersBackToAutoAsNeedingARestart() throws Exception {
        fixture = closer.track(GatewayFixture.start(transport, 1,
                backends -> config(backends, DOWNSTREAM, UPSTREAM)));

        // The fixture's own listen line (port 0), so that the listeners' shape is unchanged.
        Gateway.Reload reload = fixture.gateway().reload(ConfigLoader.parse("listen = \"127.0.0.1:0\"\n"
                + "transport = " + transport.configName() + "\nevent-loops = 2\n"
                + "downstream { rcvbuf = auto, sndbuf = auto, tcp-keepalive = off, user-timeout = off,"
                + " notsent-lowat = off }\n" + UPSTREAM.config("upstream")
                + "clusters { echo { backends = " + GatewayFixture.backendList(List.of(fixture.backend(0)))
                + " } }\nroutes = [ { path-prefix = \"/\", cluster = echo } ]\n", "reloaded"));

        assertThat(reload.needRestart()).containsExactly("downstream.rcvbuf / downstream.sndbuf (back to auto)");
        try (InFlight after = new InFlight(upstreamPorts())) {
            KernelSockets.Options options = KernelSockets.options(after.downstream);
            assertThat(options.keepalive()).as("SO_KEEPALIVE after the reload").isFalse();
            assertThat(options.userTimeoutMillis()).as("TCP_USER_TIMEOUT after the reload").isZero();
            assertThat(options.notsentLowat()).as("TCP_NOTSENT_LOWAT after the reload").isZero();
            assertThat(options.nodelay()).as("TCP_NODELAY (on by default)").isTrue();
            if (transport.isNative()) {
                assertThat(options.rcvbuf()).as("SO_RCVBUF: the listener's, as the restart note says")
                        .isEqualTo(2 * DOWNSTREAM.rcvbuf());
            } else {
                assertThat(options.rcvbuf()).as("NIO: SO_RCVBUF per connection, autotuned")
                        .isNotEqualTo(2 * DOWNSTREAM.rcvbuf());
            }
        }
    }
}
