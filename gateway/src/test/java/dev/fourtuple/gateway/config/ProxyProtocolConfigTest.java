package dev.fourtuple.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.net.InetAddress;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The PROXY protocol keys: {@code listeners[].proxy-protocol*} and {@code clusters.NAME.send-proxy-protocol}. */
class ProxyProtocolConfigTest {
    private static final String REST = """
            clusters { app { backends = ["127.0.0.1:9001"] } }
            routes = [ { cluster = app } ]
            """;

    private static GatewayConfig parse(String listener) throws ConfigProblems {
        return ConfigLoader.parse("listeners = [ { listen = \"127.0.0.1:8080\", " + listener + " } ]\n" + REST,
                "test.conf");
    }

    private static String problems(String listener) {
        ConfigProblems thrown = catchThrowableOfType(ConfigProblems.class, () -> parse(listener));
        assertThat(thrown).as("a config problem for: %s", listener).isNotNull();
        return thrown.getMessage();
    }

    @Test
    void offByDefaultAndParsedWhenGiven() throws Exception {
        assertThat(parse("name = a").listeners().get(0).proxyProtocol()).isEqualTo(ProxyProtocolSettings.OFF);

        ProxyProtocolSettings settings = parse("proxy-protocol = v2, proxy-protocol-from = [\"10.0.0.0/8\", "
                + "\"fd00::/8\", \"192.0.2.7\"], proxy-protocol-timeout = 3s").listeners().get(0).proxyProtocol();

        assertThat(settings.mode()).isEqualTo(ProxyProtocolMode.V2);
        assertThat(settings.timeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(settings.trusts(InetAddress.getByName("10.200.0.1"))).isTrue();
        assertThat(settings.trusts(InetAddress.getByName("::ffff:10.1.2.3"))).as("IPv4-mapped").isTrue();
        assertThat(settings.trusts(InetAddress.getByName("fd12::1"))).isTrue();
        assertThat(settings.trusts(InetAddress.getByName("192.0.2.7"))).isTrue();
        assertThat(settings.trusts(InetAddress.getByName("192.0.2.8"))).isFalse();
        assertThat(settings.trusts(InetAddress.getByName("11.0.0.1"))).isFalse();
        assertThat(settings.trusts(InetAddress.getByName("fe80::1"))).isFalse();
    }

    @Test
    void aBadModeNamesTheKeyAndTheWords() {
        assertThat(problems("proxy-protocol = v3, proxy-protocol-from = [\"10.0.0.0/8\"]"))
                .contains("test.conf:1: listeners[0].proxy-protocol: \"v3\" (expected: off | v1 | v2 | any)");
    }

    @Test
    void aProxyProtocolListenerMustSayWhomItTrusts() {
        assertThat(problems("proxy-protocol = any"))
                .contains("listeners[0].proxy-protocol-from: (missing) (expected: at least one block");
        assertThat(problems("proxy-protocol = v1, proxy-protocol-from = []"))
                .contains("test.conf:1: listeners[0].proxy-protocol-from: [] (expected: at least one block");
    }

    @Test
    void aBadBlockOrTimeoutNamesTheKey() {
        assertThat(problems("proxy-protocol = v2, proxy-protocol-from = [\"10.0.0.0/33\"]"))
                .contains("listeners[0].proxy-protocol-from: \"10.0.0.0/33\" (expected: a list of \"IP/PREFIX\"");
        assertThat(problems("proxy-protocol = v2, proxy-protocol-from = [\"balancer.example\"]"))
                .contains("listeners[0].proxy-protocol-from: \"balancer.example\"");
        assertThat(problems("proxy-protocol = v2, proxy-protocol-from = [\"10.0.0.1\"], proxy-protocol-timeout = 1h"))
                .contains("listeners[0].proxy-protocol-timeout: \"1h\" (expected: a duration from");
    }

    @Test
    void sendProxyProtocolIsPerClusterOffByDefault() throws ConfigProblems {
        GatewayConfig plain = ConfigLoader.parse("listen = \"127.0.0.1:8080\"\n" + REST, "test.conf");
        assertThat(plain.clusters().get("app").sendProxyProtocol()).isEqualTo(SendProxyProtocol.OFF);

        GatewayConfig v1 = ConfigLoader.parse("listen = \"127.0.0.1:8080\"\n"
                + "clusters { app { backends = [\"127.0.0.1:9001\"], send-proxy-protocol = v1 } }\n"
                + "routes = [ { cluster = app } ]\n", "test.conf");
        assertThat(v1.clusters().get("app").sendProxyProtocol()).isEqualTo(SendProxyProtocol.V1);

        ConfigProblems thrown = catchThrowableOfType(ConfigProblems.class, () -> ConfigLoader.parse(
                "listen = \"127.0.0.1:8080\"\nclusters { app { backends = [\"127.0.0.1:9001\"], "
                + "send-proxy-protocol = yes } }\nroutes = [ { cluster = app } ]\n", "test.conf"));
        assertThat(thrown).isNotNull();
        assertThat(thrown.getMessage())
                .contains("test.conf:2: clusters.app.send-proxy-protocol: \"yes\" (expected: off | v1 | v2)");
    }
}
