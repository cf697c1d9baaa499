package dev.fourtuple.gateway.integration;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.RawHttp;
import dev.fourtuple.gateway.testing.TestTls;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code send-proxy-protocol = v1} where it is easiest to get wrong: a TLS cluster (the header must come
 * before the ClientHello, in the clear: HAProxy's doc/proxy-protocol.txt §2, "the header ... is sent first")
 * and a WebSocket upgrade (the header, then the upgrade, then frames; the connection is never reused).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SendProxyProtocolTlsAndTunnelIntegrationTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @RegisterExtension
    final Closer closer = new Closer();

    @TempDir
    Path dir;

    /** A backend that reads a v1 header line in the clear, then speaks TLS (when given a context) or not. */
    private static final class HeaderFirstBackend implements AutoCloseable {
        final ServerSocket server;
        final List<String> headers = new CopyOnWriteArrayList<>();
        final List<Integer> firstByteAfterHeader = new CopyOnWriteArrayList<>();
        final List<String> requests = new CopyOnWriteArrayList<>();

        HeaderFirstBackend(SSLContext tls, boolean webSocket) throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread t = new Thread(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket s = server.accept();
                        Thread c = new Thread(() -> serve(s, tls, webSocket));
                        c.setDaemon(true);
                        c.start();
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            t.setDaemon(true);
            t.start();
        }

        private void serve(Socket raw, SSLContext tls, boolean webSocket) {
            try (raw) {
                raw.setSoTimeout(10_000);
                InputStream in = raw.getInputStream();
                StringBuilder line = new StringBuilder();
                int b;
                while ((b = in.read()) >= 0 && b != '\n') {
                    line.append((char) b);
                }
                headers.add(line.toString());
                int first = in.read();
                firstByteAfterHeader.add(first);
                Socket s = raw;
                InputStream body;
                if (tls != null) {
                    SSLSocket ssl = (SSLSocket) tls.getSocketFactory().createSocket(raw,
                            new ByteArrayInputStream(new byte[] {(byte) first}), true);
                    ssl.setUseClientMode(false);
                    s = ssl;
                    body = ssl.getInputStream();
                } else {
                    body = new java.io.SequenceInputStream(new ByteArrayInputStream(new byte[] {(byte) first}), in);
                }
                StringBuilder head = new StringBuilder();
                while (!head.toString().endsWith("\r\n\r\n") && (b = body.read()) >= 0) {
                    head.append((char) b);
                }
                requests.add(head.toString());
                OutputStream out = s.getOutputStream();
                if (webSocket) {
                    String key = head.toString().lines().filter(l -> l.startsWith("Sec-WebSocket-Key:"))
                            .findFirst().orElseThrow().substring(18).trim();
                    out.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            + "Sec-WebSocket-Accept: " + accept(key) + "\r\n\r\n").getBytes(ISO_8859_1));
                    out.write(new byte[] {(byte) 0x81, 2, 'h', 'i'}); // RFC 6455 §5.2: unmasked text "hi"
                    out.flush();
                    body.transferTo(OutputStream.nullOutputStream());
                } else {
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".getBytes(ISO_8859_1));
                    out.flush();
                }
            } catch (Exception e) {
                headers.add("error: " + e);
            }
        }

        int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    @Test
    void onATlsClusterTheHeaderPrecedesTheClientHelloInTheClear() throws Exception {
        JdkSslContext netty = (JdkSslContext) SslContextBuilder.forServer(TestTls.localhost().cert().toFile(),
                TestTls.localhost().key().toFile()).sslProvider(SslProvider.JDK).build();
        HeaderFirstBackend backend = closer.track(new HeaderFirstBackend(netty.context(), false));
        Path root = TestTls.ca().writeRoot(dir.resolve("root.pem"));
        GatewayFixture fixture = closer.track(GatewayFixture.start(TransportKind.EPOLL, 0, none ->
                "clusters { app { backends = [\"localhost:" + backend.port() + "\"], send-proxy-protocol = v1,\n"
                + "  tls { enabled = true, ca = \"" + root + "\", server-name = localhost } } }\n"
                + "routes = [ { cluster = app } ]\n"));

        for (String source : List.of("127.0.0.55", "127.0.0.56")) {
            RawHttp client = closer.track(RawHttp.connect(fixture.address(), InetAddress.getByName(source), 10_000));
            String response = client.send("GET /t HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").readUntilClose();
            assertThat(response).startsWith("HTTP/1.1 200 ").endsWith("ok");
        }

        assertThat(backend.headers).hasSize(2);
        assertThat(backend.headers.get(0)).startsWith("PROXY TCP4 127.0.0.55 ");
        assertThat(backend.headers.get(1)).startsWith("PROXY TCP4 127.0.0.56 ");
        assertThat(backend.firstByteAfterHeader).as("a TLS handshake record right after the header")
                .containsOnly(0x16);
    }

    @Test
    void aWebSocketUpgradeGoesOverItsOwnConnectionAfterTheHeader() throws Exception {
        HeaderFirstBackend backend = closer.track(new HeaderFirstBackend(null, true));
        GatewayFixture fixture = closer.track(GatewayFixture.start(TransportKind.EPOLL, 0, none ->
                "clusters { app { backends = [\"127.0.0.1:" + backend.port() + "\"], send-proxy-protocol = v1 } }\n"
                + "routes = [ { cluster = app } ]\n"));

        RawHttp client = closer.track(RawHttp.connect(fixture.address(), InetAddress.getByName("127.0.0.57"), 10_000));
        client.send("GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");

        assertThat(client.readHead()).startsWith("HTTP/1.1 101 ");
        assertThat(client.readBytes(4)).containsExactly(0x81, 2, 'h', 'i');
        assertThat(backend.headers).singleElement().asString().startsWith("PROXY TCP4 127.0.0.57 ");
        assertThat(backend.requests.get(0)).startsWith("GET /ws HTTP/1.1\r\n");
        client.close();
        await().atMost(WAIT).until(() -> fixture.gateway().tunnelMeters().active() == 0);
    }

    private static String accept(String key) throws Exception {
        byte[] sha = MessageDigest.getInstance("SHA-1").digest( // RFC 6455 §4.2.2
                (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").getBytes(ISO_8859_1));
        return Base64.getEncoder().encodeToString(sha);
    }
}
