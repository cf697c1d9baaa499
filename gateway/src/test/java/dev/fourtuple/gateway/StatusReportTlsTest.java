package dev.fourtuple.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.transport.TransportKind;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code /status} says per backend whether its cluster speaks TLS to it. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class StatusReportTlsTest {
    @RegisterExtension
    final Closer closer = new Closer();

    @Test
    @SuppressWarnings("unchecked")
    void backendsShowTlsOnOrOff() throws Exception {
        GatewayFixture fixture = closer.track(GatewayFixture.start(TransportKind.NIO, 0, none -> """
                clusters {
                  secure { backends = ["127.0.0.1:9443"], tls { enabled = true, verify = false } }
                  plain { backends = ["127.0.0.1:9080"] }
                }
                routes = [ { cluster = plain } ]
                """));

        List<Map<String, Object>> backends =
                (List<Map<String, Object>>) StatusReport.of(fixture.gateway(), "serving").get("backends");

        assertThat(backends).extracting(row -> row.get("cluster") + " " + row.get("tls"))
                .containsExactlyInAnyOrder("secure on", "plain off");
    }
}
