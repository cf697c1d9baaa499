package dev.fourtuple.gateway.route;

import dev.fourtuple.gateway.upstream.PortLedger;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fourtuple.gateway.config.BalancerKind;
import dev.fourtuple.gateway.config.ClusterConfig;
import dev.fourtuple.gateway.config.RouteConfig;
import dev.fourtuple.gateway.upstream.Cluster;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RouterTest {
    private static final Map<String, Cluster> CLUSTERS = Map.of(
            "api", cluster("api", 9001),
            "static", cluster("static", 9002),
            "default", cluster("default", 9003));

    private static Cluster cluster(String name, int port) {
        return Cluster.of(new ClusterConfig(name, List.of(new InetSocketAddress("127.0.0.1", port)),
                BalancerKind.ROUND_ROBIN, null), List.of(), new PortLedger(100, false));
    }

    private static RouteConfig route(String host, String prefix, String cluster) {
        return new RouteConfig(host, prefix, cluster, false, null);
    }

    private static Router router(RouteConfig... routes) {
        return new Router(List.of(routes), CLUSTERS);
    }

    private static String clusterOf(Router.Match match) {
        return match == null ? null : match.cluster().name();
    }

    @Test
    void firstMatchingRouteWinsInConfigOrder() {
        Router router = router(
                route("*", "/api", "api"),
                route("*", "/api/static", "static"),
                route("*", "/", "default"));

        assertThat(clusterOf(router.match("any.example", "/api/static/logo.png")))
                .as("an earlier, shorter prefix wins over a later, longer one").isEqualTo("api");
        assertThat(clusterOf(router.match("any.example", "/index.html"))).isEqualTo("default");
    }

    @Test
    void matchCarriesTheRouteAndItsCluster() {
        RouteConfig api = route("*", "/api", "api");
        Router.Match match = router(api).match("x.example", "/api/v1");

        assertThat(match).isNotNull();
        assertThat(match.route()).isEqualTo(api);
        assertThat(match.cluster()).isSameAs(CLUSTERS.get("api"));
    }

    @Test
    void hostMatchesExactlyAndCaseInsensitively() {
        Router router = router(
                route("api.example.com", "/", "api"),
                route("*", "/", "default"));

        assertThat(clusterOf(router.match("api.example.com", "/"))).isEqualTo("api");
        assertThat(clusterOf(router.match("API.Example.COM", "/"))).isEqualTo("api");
        assertThat(clusterOf(router.match("  api.example.com  ", "/"))).isEqualTo("api");
        assertThat(clusterOf(router.match("www.api.example.com", "/"))).as("no suffix matching").isEqualTo("default");
        assertThat(clusterOf(router.match("api.example.co", "/"))).isEqualTo("default");
    }

    @Test
    void portIsStrippedFromTheHostHeader() {
        Router router = router(route("api.example.com", "/", "api"));

        assertThat(clusterOf(router.match("api.example.com:8080", "/"))).isEqualTo("api");
        assertThat(clusterOf(router.match("Api.Example.Com:80", "/"))).isEqualTo("api");
    }

    @Test
    void ipv6LiteralHostKeepsItsBracketsAndLosesOnlyThePort() {
        Router router = router(route("[::1]", "/", "api"), route("*", "/", "default"));

        assertThat(clusterOf(router.match("[::1]:80", "/"))).isEqualTo("api");
        assertThat(clusterOf(router.match("[::1]", "/"))).isEqualTo("api");
        assertThat(clusterOf(router.match("[::2]:80", "/"))).isEqualTo("default");
    }

    @Test
    void hostOnlyStripsPortAndLowerCases() {
        assertThat(Router.hostOnly("Example.COM:8080")).isEqualTo("example.com");
        assertThat(Router.hostOnly("example.com")).isEqualTo("example.com");
        assertThat(Router.hostOnly("[::1]:80")).isEqualTo("[::1]");
        assertThat(Router.hostOnly("[2001:DB8::1]")).isEqualTo("[2001:db8::1]");
        assertThat(Router.hostOnly("10.0.0.1:443")).isEqualTo("10.0.0.1");
    }

    @Test
    void wildcardHostMatchesAnyHost() {
        Router router = router(route("*", "/", "default"));

        assertThat(clusterOf(router.match("a.example", "/"))).isEqualTo("default");
        assertThat(clusterOf(router.match("b.example:9999", "/x"))).isEqualTo("default");
        assertThat(clusterOf(router.match("", "/"))).isEqualTo("default");
    }

    @Test
    void pathMustStartWithThePrefix() {
        Router router = router(route("*", "/api/", "api"));

        assertThat(clusterOf(router.match("h", "/api/users"))).isEqualTo("api");
        assertThat(clusterOf(router.match("h", "/api/"))).isEqualTo("api");
        assertThat(router.match("h", "/api")).isNull();
        assertThat(router.match("h", "/other/api/")).isNull();
        assertThat(router.match("h", "/API/users")).as("paths are case-sensitive").isNull();
    }

    @Test
    void hostAndPathMustBothMatch() {
        Router router = router(
                route("api.example", "/v1", "api"),
                route("static.example", "/", "static"));

        assertThat(clusterOf(router.match("api.example", "/v1/x"))).isEqualTo("api");
        assertThat(router.match("api.example", "/v2/x")).isNull();
        assertThat(clusterOf(router.match("static.example", "/v1/x"))).isEqualTo("static");
    }

    @Test
    void missingHostMatchesOnlyWildcardRoutes() {
        Router hostOnly = router(route("api.example", "/", "api"));
        assertThat(hostOnly.match(null, "/")).isNull();

        Router withWildcard = router(route("api.example", "/", "api"), route("*", "/", "default"));
        assertThat(clusterOf(withWildcard.match(null, "/"))).isEqualTo("default");
    }

    @Test
    void noMatchingRouteGivesNull() {
        Router router = router(route("api.example", "/api", "api"));

        assertThat(router.match("other.example", "/api")).isNull();
        assertThat(router.match("api.example", "/")).isNull();
        assertThat(router(/* no routes */).match("api.example", "/")).isNull();
    }

    @Test
    void routeNamingAMissingClusterIsRejected() {
        assertThatThrownBy(() -> router(route("*", "/", "nowhere")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("nowhere");
    }
}
