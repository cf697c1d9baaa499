package dev.fourtuple.gateway.integration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.ListenerKind;
import dev.fourtuple.gateway.testing.RawHttp;
import dev.fourtuple.gateway.testing.TestTls;
import dev.fourtuple.gateway.testing.WebSocketProbe;
import dev.fourtuple.gateway.transport.TransportKind;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;
import org.jspecify.annotations.Nullable;

/**
 * A TLS listener ({@code https}) and a plaintext one ({@code http}) in one gateway, beyond what
 * TlsListenerIntegrationTest covers: each listener's own address, X-Forwarded-Proto set by the gateway whatever
 * the client sent, WebSockets on both at once, and plain HTTP sent to the TLS port. Over every transport.
 */
@ParameterizedClass
@EnumSource(TransportKind.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TlsAndPlaintextListenersIntegrationTest {
    @Parameter
    TransportKind transport;

    @RegisterExtension
    final Closer closer = new Closer();
    private final HttpClient client = HttpClient.newBuilder().sslContext(TestTls.clientContext())
            .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    private GatewayFixture fixture;

    @BeforeEach
    void start() throws Exception {
        String listeners = "listeners = [\n"
                + "  { name = https, listen = \"127.0.0.1:0\", " + TestTls.tlsBlock("") + " }\n"
                + "  { name = http, listen = \"127.0.0.1:0\" }\n"
                + "]";
        fixture = closer.track(GatewayFixture.withListeners(transport, ListenerKind.TLS, listeners, 1, backends ->
                "clusters { echo { backends = " + GatewayFixture.backendList(backends) + " } }\n"
                        + "routes = [ { path-prefix = \"/open\", cluster = echo },\n"
                        + "  { path-prefix = \"/ws\", cluster = echo } ]\n"));
    }

    @Test
    void eachListenerHasItsOwnAddressAndTheFirstIsTheDefault() {
        InetSocketAddress https = fixture.gateway().address("https");
        InetSocketAddress http = fixture.gateway().address("http");
        assertThat(https.getPort()).isPositive().isNotEqualTo(http.getPort());
        assertThat(http.getPort()).isPositive();
        assertThat(fixture.gateway().address()).isEqualTo(https);
    }

    @Test
    void xForwardedProtoIsHttpsFromTheTlsListenerAndHttpFromThePlaintextOne() throws Exception {
        String overTls = get(https("/open/headers"), "http").body();
        String overPlain = get(http("/open/headers"), "https").body();

        assertThat(overTls).contains("x-forwarded-proto: https\n").doesNotContain("x-forwarded-proto: http\n");
        assertThat(overPlain).as("a client's own X-Forwarded-Proto is replaced, not believed")
                .contains("x-forwarded-proto: http\n").doesNotContain("x-forwarded-proto: https");
        assertThat(overTls).contains("host: localhost:" + fixture.gateway().address("https").getPort() + "\n");
    }

    @Test
    void webSocketsEchoOnBothListeners() throws Exception {
        byte[] data = new byte[256 * 1024];
        new Random(3).nextBytes(data);
        for (URI uri : new URI[] {uri("wss", "https", "/ws"), uri("ws", "http", "/ws")}) {
            WebSocketProbe probe = closer.track(WebSocketProbe.open(uri));
            probe.sendBinary(data, 8192);
            assertThat(probe.awaitBytes(data.length, Duration.ofSeconds(20))).as("%s", uri).isEqualTo(data);
        }
    }

    /** Plain HTTP sent to the TLS port is no ClientHello: the connection is closed, not left open. */
    @Test
    void plaintextHttpOnTheTlsPortIsClosed() throws Exception {
        try (RawHttp raw = RawHttp.connect(fixture.gateway().address("https"), 5000)) {
            raw.send("GET /open/x HTTP/1.1\r\nHost: t\r\n\r\n");
            // At most a TLS alert comes back, then the close (a FIN or a reset), within the read timeout.
            assertThat(readUntilClosed(raw)).doesNotContain("HTTP/1.1");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> fixture.gateway().inboundMeters().active() == 0);
    }

    /** What arrives before the gateway closes (a FIN, or a reset, which ends the read the same way). */
    private static String readUntilClosed(RawHttp raw) throws Exception {
        try {
            return raw.readUntilClose();
        } catch (java.net.SocketException reset) {
            return "";
        }
    }

    private HttpResponse<String> get(URI uri, @Nullable String forwardedProto) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10));
        if (forwardedProto != null) {
            request.header("X-Forwarded-Proto", forwardedProto);
        }
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private URI https(String path) {
        return uri("https", "https", path);
    }

    private URI http(String path) {
        return uri("http", "http", path);
    }

    /** SCHEME://localhost:PORT (TLS; the certificate's name) or SCHEME://127.0.0.1:PORT of the named listener. */
    private URI uri(String scheme, String listener, String path) {
        int port = fixture.gateway().address(listener).getPort();
        String host = listener.equals("https") ? TestTls.HOST : "127.0.0.1";
        return URI.create(scheme + "://" + host + ":" + port + path);
    }
}
