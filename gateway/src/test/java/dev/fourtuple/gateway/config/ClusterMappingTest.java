package dev.fourtuple.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fleet keys of a cluster (backend names and weights, DNS entries, hash balancer, health) and dns { }. */
class ClusterMappingTest {
    @TempDir
    Path dir;

    private static String config(String cluster, String top) {
        return """
                listen = "127.0.0.1:0"
                %s
                clusters {
                  app {
                    %s
                  }
                }
                routes = [ { cluster = app } ]
                """.formatted(top, cluster);
    }

    private GatewayConfig load(String cluster) throws IOException, ConfigProblems {
        return load(cluster, "");
    }

    private GatewayConfig load(String cluster, String top) throws IOException, ConfigProblems {
        Path file = dir.resolve("gateway.conf");
        Files.writeString(file, config(cluster, top));
        return ConfigLoader.load(file);
    }

    private List<String> problems(String cluster, String top) throws IOException {
        Path file = dir.resolve("gateway.conf");
        Files.writeString(file, config(cluster, top));
        ConfigProblems thrown = catchThrowableOfType(ConfigProblems.class, () -> ConfigLoader.load(file));
        assertThat(thrown).as("problems expected").isNotNull();
        return thrown.problems().stream().map(p -> p.key() + ": " + p.value() + " (" + p.expected() + ")").toList();
    }

    @Test
    void plainStringsAndObjectsWithWeightsAndNamesMix() throws IOException, ConfigProblems {
        ClusterConfig app = load("""
                backends = [ "127.0.0.1:8000", { address = "127.0.0.1:8001", weight = 2, name = "b2" },
                             "dns:App.Internal.:8002", { address = "srv:_app._tcp.internal", weight = 3 } ]
                """).clusters().get("app");

        assertThat(app.backends()).containsExactly(
                new BackendConfig("127.0.0.1:8000", 1, new InetSocketAddress("127.0.0.1", 8000), null),
                new BackendConfig("b2", 2, new InetSocketAddress("127.0.0.1", 8001), null),
                new BackendConfig("dns:App.Internal.:8002", 1, null, new BackendConfig.DnsName(false, "app.internal", 8002)),
                new BackendConfig("srv:_app._tcp.internal", 3, null, new BackendConfig.DnsName(true, "_app._tcp.internal", 0)));
        assertThat(app.fixedAddresses()).hasSize(2);
        assertThat(app.discovered()).isTrue();
    }

    @Test
    void badBackendEntriesAreNamed() throws IOException, ConfigProblems {
        assertThat(problems("""
                backends = [ { address = "127.0.0.1:8000", weight = 0 }, { address = "127.0.0.1:8001", name = "a b" },
                             "dns:bad_host!:80", "srv:app.internal", "dns:app.internal", { weight = 2 },
                             { address = "127.0.0.1:8002", name = "x" }, { address = "127.0.0.1:8003", name = "x" } ]
                """, "")).containsExactlyInAnyOrder(
                "clusters.app.backends[0].weight: 0 (1..256)",
                "clusters.app.backends[1].name: \"a b\" (a name of letters, digits and -._~ (no spaces))",
                "clusters.app.backends: \"dns:bad_host!:80\" (\"dns:HOST:PORT\" with a DNS host name and a port 1..65535)",
                "clusters.app.backends: \"srv:app.internal\" (\"srv:_service._proto.name\" (RFC 2782))",
                "clusters.app.backends: \"dns:app.internal\" (\"dns:HOST:PORT\" with a DNS host name and a port 1..65535)",
                "clusters.app.backends[5].address: {\"weight\":2} (\"IP:PORT\", \"dns:HOST:PORT\" or \"srv:_service._proto.name\")",
                "clusters.app.backends: {\"address\":\"127.0.0.1:8003\",\"name\":\"x\"} (backends with different names (\"x\" is taken))");
    }

    @Test
    void hashBalancerNeedsAKeyOfAKnownSource() throws IOException, ConfigProblems {
        ClusterConfig cookie = load("""
                backends = ["127.0.0.1:8000"]
                balancer = { type = hash, key = "cookie:io" }
                """).clusters().get("app");
        assertThat(cookie.balancer()).isEqualTo(BalancerKind.HASH);
        assertThat(cookie.hashKey()).isEqualTo(new HashKey(HashKey.Source.COOKIE, "io"));
        assertThat(load("""
                backends = ["127.0.0.1:8000"]
                balancer { type = hash, key = "header:X-Session" }
                """).clusters().get("app").hashKey()).isEqualTo(new HashKey(HashKey.Source.HEADER, "x-session"));
        assertThat(load("""
                backends = ["127.0.0.1:8000"]
                balancer { type = hash, key = client-ip }
                """).clusters().get("app").hashKey()).isEqualTo(new HashKey(HashKey.Source.CLIENT_IP, ""));

        assertThat(problems("""
                backends = ["127.0.0.1:8000"]
                balancer { type = hash, key = "body:sid" }
                """, "")).containsExactly("clusters.app.balancer.key: \"body:sid\" (\"cookie:NAME\" | \"header:NAME\" | "
                + "\"query:NAME\" | \"client-ip\")");
        assertThat(problems("""
                backends = ["127.0.0.1:8000"]
                balancer = hash
                """, "")).hasSize(1).allMatch(p -> p.contains("a hash needs its key"));
        assertThat(problems("""
                backends = ["127.0.0.1:8000"]
                balancer { type = round-robin, key = "query:sid" }
                """, "")).containsExactly("clusters.app.balancer.key: \"query:sid\" (no key unless type = hash)");
    }

    @Test
    void aQueryKeyNameThatCouldNeverMatchIsRefused() throws IOException {
        // '&' ends a parameter and '#' starts the fragment (RFC 3986 §3.4, §3.5), both tchars: such a name was
        // accepted and silently never found, so every request was balanced as if it had no key.
        for (String name : new String[] {"s&id", "s#id"}) {
            assertThat(problems("""
                    backends = ["127.0.0.1:8000"]
                    balancer { type = hash, key = "query:%s" }
                    """.formatted(name), "")).containsExactly("clusters.app.balancer.key: \"query:" + name
                    + "\" (\"cookie:NAME\" | \"header:NAME\" | \"query:NAME\" | \"client-ip\")");
        }
    }

    @Test
    void healthCheckDefaultsOffAndTakesEveryKey() throws IOException, ConfigProblems {
        ClusterConfig plain = load("backends = [\"127.0.0.1:8000\"]").clusters().get("app");
        assertThat(plain.healthCheck()).isNull();
        assertThat(plain.outlier()).isEqualTo(OutlierSettings.DEFAULT);
        assertThat(plain.onDown()).isEqualTo(DownPolicy.KEEP);
        assertThat(plain.stickyCookie()).isNull();

        ClusterConfig checked = load("""
                backends = ["127.0.0.1:8000"]
                health-check { type = http, path = "/ready", expect = "204", interval = 500ms, timeout = 200ms,
                               fall = 2, rise = 4, jitter = 20% }
                on-down = close
                sticky-cookie = ft_b
                outlier-detection { consecutive-failures = 3, base-ejection = 5s, max-ejection-time = 60s,
                                    max-ejection = 30% }
                """).clusters().get("app");
        assertThat(checked.healthCheck()).isEqualTo(new HealthCheckSettings(true, "/ready", "", 204, 204,
                Duration.ofMillis(500), Duration.ofMillis(200), 2, 4, 0.2));
        assertThat(checked.onDown()).isEqualTo(DownPolicy.CLOSE);
        assertThat(checked.stickyCookie()).isEqualTo("ft_b");
        assertThat(checked.outlier()).isEqualTo(new OutlierSettings(3, Duration.ofSeconds(5), Duration.ofSeconds(60), 0.3));
        assertThat(load("""
                backends = ["127.0.0.1:8000"]
                outlier-detection.consecutive-failures = off
                """).clusters().get("app").outlier().enabled()).isFalse();
    }

    @Test
    void badHealthSettingsAreNamed() throws IOException, ConfigProblems {
        assertThat(problems("""
                backends = ["127.0.0.1:8000"]
                health-check { type = udp, path = "healthz", expect = "600", interval = 1s, timeout = 2s }
                sticky-cookie = "a;b"
                on-down = drop
                outlier-detection { base-ejection = 10s, max-ejection-time = 5s }
                """, "")).containsExactlyInAnyOrder(
                "clusters.app.health-check.type: \"udp\" (off | http | tcp)",
                "clusters.app.health-check.path: \"healthz\" (an origin-form path \"/...\" without spaces)",
                "clusters.app.health-check.expect: \"600\" (a status \"200\" or a range \"200-399\")",
                "clusters.app.health-check.timeout: \"2s\" (at most interval (PT1S))",
                "clusters.app.sticky-cookie: \"a;b\" (\"\" (off) or a cookie name (RFC 6265 §4.1.1 token))",
                "clusters.app.on-down: \"drop\" (keep | close)",
                "clusters.app.outlier-detection.max-ejection-time: \"5s\" (at least base-ejection (PT10S))");
    }

    @Test
    void dnsSectionTakesResolversAndRefreshBounds() throws IOException, ConfigProblems {
        GatewayConfig config = load("backends = [\"dns:app.internal:80\"]",
                "dns { resolvers = [\"127.0.0.1:5353\"], max-refresh = 10s, min-refresh = 2s, timeout = 500ms }");
        assertThat(config.dns()).isEqualTo(new DnsSettings(List.of(new InetSocketAddress("127.0.0.1", 5353)),
                Duration.ofSeconds(10), Duration.ofSeconds(2), Duration.ofMillis(500)));
        assertThat(load("backends = [\"127.0.0.1:80\"]").dns()).isEqualTo(DnsSettings.DEFAULT);

        assertThat(problems("backends = [\"127.0.0.1:80\"]",
                "dns { resolvers = [\"ns.example:53\"], max-refresh = 5s, min-refresh = 10s }")).containsExactlyInAnyOrder(
                "dns.resolvers: \"ns.example:53\" (\"IP:PORT\" of a DNS server (an IP, not a name))",
                "dns.min-refresh: \"10s\" (at most max-refresh (PT5S))");
    }
}
