package dev.fourtuple.gateway.integration;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.ListenerKind;
import dev.fourtuple.gateway.testing.RawHttp;
import dev.fourtuple.gateway.transport.TransportKind;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A gateway stopped ({@code close()}) while idle keep-alive connections are open closes them, plaintext and TLS,
 * and frees what they hold. For TLS that is each OpenSSL engine's native memory and its reference on its
 * context, released only when its SslHandler leaves the pipeline: the leak check after this class
 * (LeakCheckExtension, leak detection PARANOID) fails it when an engine or context is collected unreleased, and
 * this class holds only this case, so such a failure points here.
 */
@ParameterizedClass
@MethodSource("dev.fourtuple.gateway.testing.ListenerKind#withTransports")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StopWithOpenConnectionsIntegrationTest {
    @Parameter(0)
    TransportKind transport;
    @Parameter(1)
    ListenerKind listener;

    @RegisterExtension
    final Closer closer = new Closer();

    @Test
    void closingTheGatewayClosesIdleConnectionsAndFreesTheirTlsEngines() throws Exception {
        GatewayFixture fixture = closer.track(GatewayFixture.simple(transport, listener, 1, ""));
        List<RawHttp> clients = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            RawHttp raw = closer.track(fixture.raw(5000));
            assertThat(raw.send("GET /status/200 HTTP/1.1\r\nHost: t\r\n\r\n").response().status()).isEqualTo(200);
            clients.add(raw); // kept alive, idle: open when the gateway stops
        }

        fixture.gateway().close();

        for (RawHttp raw : clients) {
            assertThat(raw.closedByPeer()).as("the gateway closed the connection when it stopped").isTrue();
        }
    }
}
