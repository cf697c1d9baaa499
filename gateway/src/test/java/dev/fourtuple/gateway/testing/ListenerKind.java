package dev.fourtuple.gateway.testing;

import dev.fourtuple.gateway.transport.TransportKind;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/**
 * How a {@link GatewayFixture}'s one listener takes clients: plaintext, or TLS terminated by the gateway (with a
 * certificate for {@code localhost} from {@link TestTls}). Suites run over both with
 * {@code @MethodSource("dev.fourtuple.gateway.testing.ListenerKind#withTransports")}.
 */
public enum ListenerKind {
    PLAIN("http", "ws"),
    TLS("https", "wss");

    private final String httpScheme;
    private final String wsScheme;

    ListenerKind(String httpScheme, String wsScheme) {
        this.httpScheme = httpScheme;
        this.wsScheme = wsScheme;
    }

    /** {@code http} or {@code https}: also what X-Forwarded-Proto says to the backend. */
    public String httpScheme() {
        return httpScheme;
    }

    public String wsScheme() {
        return wsScheme;
    }

    /** Every transport with every listener kind: (TransportKind, ListenerKind). */
    public static Stream<Arguments> withTransports() {
        return Arrays.stream(TransportKind.values())
                .flatMap(transport -> Arrays.stream(values()).map(listener -> Arguments.of(transport, listener)));
    }
}
