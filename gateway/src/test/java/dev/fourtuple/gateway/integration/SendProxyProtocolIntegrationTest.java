package dev.fourtuple.gateway.integration;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.RawHttp;
import dev.fourtuple.gateway.testing.RecordingBackend;
import dev.fourtuple.gateway.transport.TransportKind;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code send-proxy-protocol = v2} through real sockets: each upstream connection of the cluster starts with
 * a binary PROXY header (HAProxy's doc/proxy-protocol.txt §2.2) naming its one client, parsed here by hand
 * from the bytes the backend received.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SendProxyProtocolIntegrationTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final byte[] SIGNATURE = "\r\n\r\n\0\r\nQUIT\n".getBytes(ISO_8859_1);

    @RegisterExtension
    final Closer closer = new Closer();

    /** The header at the start of one connection's bytes, and what followed it. */
    private record Header(String source, int sourcePort, String destination, int destinationPort, String rest) {
        static Header parse(String received) {
            ByteBuffer bytes = ByteBuffer.wrap(received.getBytes(ISO_8859_1));
            byte[] signature = new byte[12];
            bytes.get(signature);
            assertThat(signature).as("the v2 signature first").isEqualTo(SIGNATURE);
            assertThat(bytes.get()).as("version 2, PROXY").isEqualTo((byte) 0x21);
            assertThat(bytes.get()).as("TCP over IPv4").isEqualTo((byte) 0x11);
            int length = bytes.getShort() & 0xFFFF;
            assertThat(length).as("4 + 4 + 2 + 2 address bytes, no TLV").isEqualTo(12);
            String source = ip(bytes);
            String destination = ip(bytes);
            int sourcePort = bytes.getShort() & 0xFFFF;
            int destinationPort = bytes.getShort() & 0xFFFF;
            byte[] rest = new byte[bytes.remaining()];
            bytes.get(rest);
            return new Header(source, sourcePort, destination, destinationPort, new String(rest, ISO_8859_1));
        }

        private static String ip(ByteBuffer bytes) {
            return (bytes.get() & 0xFF) + "." + (bytes.get() & 0xFF) + "." + (bytes.get() & 0xFF) + "."
                    + (bytes.get() & 0xFF);
        }
    }

    @Test
    void everyUpstreamConnectionStartsWithItsOneClientsHeaderAndIsNeverShared() throws Exception {
        RecordingBackend backend = closer.track(RecordingBackend.start());
        GatewayFixture fixture = closer.track(GatewayFixture.start(TransportKind.EPOLL, 0, none ->
                "request-timeout = 2s\n"
                + "clusters { app { backends = [\"" + backend.hostPort() + "\"], send-proxy-protocol = v2 } }\n"
                + "routes = [ { cluster = app } ]\n"));
        List<String> clients = List.of("127.0.0.77", "127.0.0.78", "127.0.0.77");
        List<Integer> ports = new ArrayList<>();
        for (String source : clients) {
            RawHttp client = closer.track(RawHttp.connect(fixture.address(), InetAddress.getByName(source), 10_000));
            ports.add(client.socket().getLocalPort());
            // The backend cannot parse what starts with a binary header, so no answer is waited for: its bytes are.
            client.send("GET /from/" + source + " HTTP/1.1\r\nHost: t\r\n\r\n");
            int expected = ports.size();
            await().atMost(WAIT).until(() -> backend.received().size() == expected
                    && backend.received().get(expected - 1).contains("\r\n\r\n"));
        }

        List<String> received = backend.received();
        assertThat(received).as("one upstream connection per request: none reused").hasSize(3);
        for (int i = 0; i < clients.size(); i++) {
            Header header = Header.parse(received.get(i));
            assertThat(header.source()).isEqualTo(clients.get(i));
            assertThat(header.sourcePort()).isEqualTo(ports.get(i));
            assertThat(header.destination()).isEqualTo("127.0.0.1");
            assertThat(header.destinationPort()).isEqualTo(fixture.address().getPort());
            assertThat(header.rest()).startsWith("GET /from/" + clients.get(i) + " HTTP/1.1\r\n")
                    .contains("\r\nx-forwarded-for: " + clients.get(i) + "\r\n");
        }
    }

}
