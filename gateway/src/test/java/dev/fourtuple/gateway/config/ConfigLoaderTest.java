package dev.fourtuple.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ConfigLoaderTest {
    // Line numbers in the assertions below refer to this text: listen is line 1, backends line 4,
    // balancer line 5, the route line 9; anything appended starts on line 11.
    private static final String MINIMAL = """
            listen = "127.0.0.1:8080"
            clusters {
              echo {
                backends = ["127.0.0.1:9001", "127.0.0.1:9002"]
                balancer = round-robin
              }
            }
            routes = [
              { host = "*", path-prefix = "/", cluster = echo }
            ]
            """;
    // Six problems, one per line, each of a different check; none may hide another.
    private static final String SEVERAL_PROBLEMS = """
            idle-timout = 5s
            backlog = 0
            listen = "127.0.0.1:8080"
            clusters {
              echo {
                backends = ["127.0.0.1:9001"]
                balancer = random
              }
            }
            routes = [
              { path-prefix = "api", cluster = echo }
              { cluster = nope }
            ]
            transport = carrier-pigeon
            """;
    private static final String ADDRESS_EXPECTED = "\"IP:PORT\" or \"[IPv6]:PORT\" with a resolvable host and port ";
    private static final String BACKEND_EXPECTED = ADDRESS_EXPECTED + "1..65535, \"dns:HOST:PORT\" or \"srv:NAME\"";
    private static final String SOURCES_EXPECTED =
            "an IP address \"10.0.0.2\" or an IPv4 range \"10.0.0.2-10.0.0.9\" (at most 4096 addresses)";

    @TempDir
    Path dir;

    @Test
    void minimalConfigMapsToRecordsWithReferenceDefaults() throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL, "test.conf");

        assertThat(config.source()).isEqualTo("test.conf");
        assertThat(config.listen()).isEqualTo(new InetSocketAddress("127.0.0.1", 8080));
        assertThat(config.backlog()).isEqualTo(4096);
        assertThat(config.transport()).isEqualTo(TransportChoice.AUTO);
        assertThat(config.eventLoops()).isZero();
        assertThat(config.timeouts()).isEqualTo(new Timeouts(
                Duration.ofSeconds(10), Duration.ofSeconds(60), Duration.ofSeconds(60), Duration.ZERO,
                Duration.ofHours(1), Duration.ofSeconds(5), Duration.ofSeconds(30), Duration.ofSeconds(30)));
        assertThat(config.limits()).isEqualTo(new Limits(8 * 1024, 16 * 1024, 64L * 1024 * 1024, 1024));
        SocketSettings defaultSocket = new SocketSettings(0, 0, true,
                new SocketSettings.TcpKeepalive(Duration.ofSeconds(60), Duration.ofSeconds(10), 6), Duration.ZERO, 0,
                64 * 1024, 32 * 1024, 64, 2048, 64 * 1024);
        assertThat(config.downstream()).isEqualTo(defaultSocket);
        assertThat(config.upstream()).isEqualTo(new UpstreamSettings(defaultSocket, 32, Duration.ofSeconds(30),
                List.of(), null, true));
        assertThat(config.clusters()).containsOnlyKeys("echo");
        assertThat(config.clusters().get("echo")).isEqualTo(new ClusterConfig("echo",
                List.of(new InetSocketAddress("127.0.0.1", 9001), new InetSocketAddress("127.0.0.1", 9002)),
                BalancerKind.ROUND_ROBIN, null));
        assertThat(config.routes()).containsExactly(new RouteConfig("*", "/", "echo", false, null));
    }

    @Test
    void valuesInTheFileOverrideTheReference() throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL + """
                backlog = 128
                header-timeout = 250ms
                max-header-size = 32KiB
                upstream { keepalive-max-idle = 0 }
                """, "test.conf");

        assertThat(config.backlog()).isEqualTo(128);
        assertThat(config.timeouts().header()).isEqualTo(Duration.ofMillis(250));
        assertThat(config.limits().maxHeaderSize()).isEqualTo(32 * 1024);
        assertThat(config.upstream().keepaliveMaxIdle()).isZero();
        assertThat(config.upstream().keepaliveIdleTimeout()).as("untouched key keeps its default")
                .isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void offSwitchesTimeoutsAndTheBodyLimitOff() throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL + """
                idle-timeout = off
                request-timeout = off
                tunnel-idle-timeout = off
                max-request-body-size = off
                """, "test.conf");

        assertThat(config.timeouts().idle()).isEqualTo(Duration.ZERO);
        assertThat(config.timeouts().request()).isEqualTo(Duration.ZERO);
        assertThat(config.timeouts().tunnelIdle()).isEqualTo(Duration.ZERO);
        assertThat(Timeouts.isOff(config.timeouts().idle())).isTrue();
        assertThat(Timeouts.isOff(config.timeouts().header())).isFalse();
        assertThat(config.limits().maxRequestBodySize()).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void routeKeysDefaultFromRouteDefaults() throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL + """
                routes = [ { cluster = echo }, { host = "Example.COM", cluster = echo } ]
                """, "test.conf");

        assertThat(config.routes()).containsExactly(
                new RouteConfig("*", "/", "echo", false, null),
                new RouteConfig("example.com", "/", "echo", false, null));
    }

    @Test
    void effectiveRequestTimeoutFollowsRouteOverrideThenLongPollThenGlobal() throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL + """
                request-timeout = 20s
                long-poll-timeout = 5m
                routes = [
                  { path-prefix = "/slow", cluster = echo, request-timeout = 90s }
                  { path-prefix = "/stream", cluster = echo, request-timeout = off }
                  { path-prefix = "/poll", cluster = echo, long-poll = true }
                  { path-prefix = "/", cluster = echo }
                ]
                """, "test.conf");
        Timeouts timeouts = config.timeouts();

        assertThat(config.routes()).extracting(RouteConfig::requestTimeout)
                .containsExactly(Duration.ofSeconds(90), Duration.ZERO, null, null);
        assertThat(config.routes()).extracting(RouteConfig::longPoll).containsExactly(false, false, true, false);
        assertThat(config.routes()).extracting(route -> route.effectiveRequestTimeout(timeouts)).containsExactly(
                Duration.ofSeconds(90), Duration.ZERO, Duration.ofMinutes(5), Duration.ofSeconds(20));
    }

    @Test
    void longPollRouteWaitsForeverByDefault() throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL + """
                routes = [ { path-prefix = "/poll", cluster = echo, long-poll = true } ]
                """, "test.conf");

        assertThat(config.routes().get(0).effectiveRequestTimeout(config.timeouts())).isEqualTo(Duration.ZERO);
    }

    @Test
    void leastConnectionsBalancerAndClusterDefaults() throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL + """
                cluster-defaults { balancer = least-connections }
                clusters {
                  realtime { backends = ["127.0.0.1:8000"] }
                  api { backends = ["127.0.0.1:8001"], balancer = round-robin }
                }
                """, "test.conf");

        assertThat(config.clusters().get("realtime").balancer()).isEqualTo(BalancerKind.LEAST_CONNECTIONS);
        assertThat(config.clusters().get("api").balancer()).isEqualTo(BalancerKind.ROUND_ROBIN);
        assertThat(config.clusters().get("echo").balancer()).as("written in the file").isEqualTo(BalancerKind.ROUND_ROBIN);
    }

    @ParameterizedTest
    @CsvSource({"auto, 0", "1, 1", "8, 8", "1024, 1024"})
    void eventLoopsAreAutoOrACount(String written, int expected) throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL + "event-loops = " + written + "\n", "test.conf");

        assertThat(config.eventLoops()).isEqualTo(expected);
    }

    @ParameterizedTest
    @CsvSource({"auto, AUTO", "epoll, EPOLL", "io_uring, IO_URING", "nio, NIO"})
    void transportValues(String written, TransportChoice expected) throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL + "transport = " + written + "\n", "test.conf");

        assertThat(config.transport()).isEqualTo(expected);
    }

    @Test
    void ipv6ListenAddressInBrackets() throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL + "listen = \"[::1]:9000\"\n", "test.conf");

        assertThat(config.listen()).isEqualTo(new InetSocketAddress(InetAddress.getByName("::1"), 9000));
    }

    @ParameterizedTest
    @ValueSource(strings = {"demo.conf", "gateway.conf"})
    void shippedExampleConfigsAreValid(String name) throws Exception {
        // Surefire runs in the module directory; the examples live in the repository's config/.
        GatewayConfig config = ConfigLoader.load(Path.of("..", "config", name));

        assertThat(config.routes()).isNotEmpty();
    }

    @Test
    void unknownTopLevelKeySuggestsTheNearestKey() throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL + "idle-timout = 5s\n");

        assertProblem(problem, 11, "idle-timout", "\"5s\"", "no such key; did you mean idle-timeout?");
    }

    @Test
    void unknownKeyFarFromAnyListsTheKnownKeys() throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL + "colour = blue\n");

        assertThat(problem.location()).isEqualTo(file() + ":11");
        assertThat(problem.expected()).startsWith("no such key; known keys: admin, admission, backlog, body-min-rate, body-timeout, cluster-defaults,")
                .contains("idle-timeout", "routes", "upstream");
    }

    @Test
    void unknownKeyInsideACluster() throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL.replace("balancer = round-robin", "balancr = round-robin"));

        assertProblem(problem, 5, "clusters.echo.balancr", "\"round-robin\"", "no such key; did you mean balancer?");
    }

    @Test
    void unknownKeyInsideARoute() throws IOException {
        List<ConfigProblem> problems = problemsOf(MINIMAL.replace("cluster = echo", "clustr = echo"));

        assertThat(problems).extracting(ConfigProblem::key).containsExactlyInAnyOrder(
                "routes[0].cluster", "routes[0].clustr");
        ConfigProblem typo = problems.stream().filter(p -> p.key().equals("routes[0].clustr")).findFirst().orElseThrow();
        assertProblem(typo, 9, "routes[0].clustr", "\"echo\"", "no such key; did you mean cluster?");
    }

    @Test
    void unknownKeyInsideUpstream() throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL + """
                upstream {
                  keepalive-max-idel = 8
                }
                """);

        assertProblem(problem, 12, "upstream.keepalive-max-idel", "8", "no such key; did you mean keepalive-max-idle?");
    }

    @Test
    void unknownKeyInsideRouteDefaultsIsReportedOnTheRoute() throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL + "route-defaults { lng-poll = true }\n");

        assertProblem(problem, 11, "routes[0].lng-poll", "true", "no such key; did you mean long-poll?");
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:-1", "127.0.0.1:http", "::1:9000"})
    void listenAddressMustBeHostAndPort(String written) throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL.replace("127.0.0.1:8080", written));

        assertProblem(problem, 1, "listen", "\"" + written + "\"", ADDRESS_EXPECTED + "0..65535");
    }

    @Test
    void handoverSocketIsOffByDefaultAndAnAbsolutePathWhenSet() throws Exception {
        assertThat(ConfigLoader.parse(MINIMAL, "test.conf").ops().handoverSocket()).isNull();
        assertThat(ConfigLoader.parse(MINIMAL + "handover.socket = \"/run/fourtuple/handover.sock\"\n", "test.conf")
                .ops().handoverSocket())
                .isEqualTo(java.nio.file.Path.of("/run/fourtuple/handover.sock"));
    }

    @Test
    void aRelativeHandoverSocketIsAProblem() throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL + "handover.socket = \"run/handover.sock\"\n");

        assertProblem(problem, 11, "handover.socket", "\"run/handover.sock\"",
                "off, or an absolute path of at most 107 bytes");
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "nio"})
    void aHandoverNeedsTheEpollTransport(String transport) throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL + "transport = " + transport
                + "\nhandover.socket = \"/run/fourtuple/handover.sock\"\n");

        assertProblem(problem, 12, "handover.socket", "\"/run/fourtuple/handover.sock\"", "off with transport = "
                + transport + " (a handover adopts sockets, which only the epoll transport can)");
    }

    @Test
    @Timeout(30) // a resolver without network may take a while to give up on the name
    void backendHostMustResolve() throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL.replace("127.0.0.1:9002", "no-such-host.invalid:80"));

        assertProblem(problem, 4, "clusters.echo.backends", "\"no-such-host.invalid:80\"", BACKEND_EXPECTED);
    }

    @Test
    void backendPortZeroIsRefused() throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL.replace("127.0.0.1:9002", "127.0.0.1:0"));

        assertProblem(problem, 4, "clusters.echo.backends", "\"127.0.0.1:0\"", BACKEND_EXPECTED);
    }

    @Test
    void routeNamingAMissingClusterListsTheKnownOnes() throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL.replace("cluster = echo", "cluster = ehco")
                + "clusters.api.backends = [\"127.0.0.1:9100\"]\n");

        assertThat(problem.location()).isEqualTo(file() + ":9");
        assertThat(problem.key()).isEqualTo("routes[0].cluster");
        assertThat(problem.value()).isEqualTo("\"ehco\"");
        assertThat(problem.expected()).startsWith("one of the clusters: ").contains("echo", "api");
    }

    @Test
    void routeWithoutClusterIsReportedAtTheRoute() throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL.replace(", cluster = echo", ""));

        assertProblem(problem, 9, "routes[0].cluster", "(missing)", "a value");
    }

    @Test
    void clusterNeedsAtLeastOneBackend() throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL.replace("[\"127.0.0.1:9001\", \"127.0.0.1:9002\"]", "[]"));

        assertProblem(problem, 4, "clusters.echo.backends", "[]", "at least one backend \"IP:PORT\"");
    }

    @Test
    void emptyRouteListIsAProblem() throws IOException {
        ConfigProblem problem = onlyProblem("""
                listen = "127.0.0.1:8080"
                clusters { echo { backends = ["127.0.0.1:9001"] } }
                routes = []
                """);

        assertProblem(problem, 3, "routes", "[]", "at least one route { host, path-prefix, cluster }");
    }

    @Test
    void fileWithoutRoutesIsAProblemInThatFile() throws IOException {
        ConfigProblem problem = onlyProblem("""
                listen = "127.0.0.1:8080"
                clusters { echo { backends = ["127.0.0.1:9001"] } }
                """);

        assertThat(problem.key()).isEqualTo("routes");
        assertThat(problem.expected()).isEqualTo("at least one route { host, path-prefix, cluster }");
        // The user cannot act on a line of the jar's reference.conf: the problem belongs to their file.
        assertThat(problem.location()).startsWith(file().toString());
    }

    static Stream<Arguments> badTopLevelValues() {
        return Stream.of(
                arguments("backlog = \"lots\"", "backlog", "\"lots\"", "1..65535"),
                arguments("backlog = 0", "backlog", "0", "1..65535"),
                arguments("backlog = 99999999999", "backlog", "99999999999", "1..65535"),
                arguments("idle-timeout = \"soon\"", "idle-timeout", "\"soon\"", "off, or a duration from 1ms to 1d"),
                arguments("header-timeout = off", "header-timeout", "\"off\"", "a duration from 1ms to 1h"),
                arguments("connect-timeout = 10m", "connect-timeout", "\"10m\"", "a duration from 1ms to 5m"),
                arguments("tunnel-idle-timeout = 500ms", "tunnel-idle-timeout", "\"500ms\"",
                        "off, or a duration from 1s to 7d"),
                arguments("transport = carrier-pigeon", "transport", "\"carrier-pigeon\"", "auto | epoll | io_uring | nio"),
                arguments("event-loops = 0", "event-loops", "0", "auto or 1..1024"),
                arguments("event-loops = many", "event-loops", "\"many\"", "auto or 1..1024"),
                arguments("max-header-size = 100B", "max-header-size", "\"100B\"",
                        "a size from 1024B to 1048576B, e.g. 64KiB"),
                arguments("upstream.keepalive-max-idle = -1", "upstream.keepalive-max-idle", "-1", "0..10000"),
                arguments("routes = 3", "routes", "3", "a list [ ... ]"));
    }

    @ParameterizedTest
    @MethodSource("badTopLevelValues")
    void badValueNamesKeyValueAndWhatWasExpected(String line, String key, String value, String expected)
            throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL + line + "\n");

        assertProblem(problem, 11, key, value, expected);
    }

    @Test
    void sectionThatIsNotAnObjectIsOneProblem() throws IOException {
        // Its keys are then unknown, not missing: the mistake is the one value on line 11.
        ConfigProblem problem = onlyProblem(MINIMAL + "upstream = 5\n");

        assertProblem(problem, 11, "upstream", "5", "an object { ... }");
    }

    @Test
    void unknownBalancer() throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL.replace("balancer = round-robin", "balancer = random"));

        assertProblem(problem, 5, "clusters.echo.balancer", "\"random\"", "round-robin | least-connections | hash");
    }

    @Test
    void longPollMustBeBoolean() throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL.replace("cluster = echo }", "cluster = echo, long-poll = maybe }"));

        assertProblem(problem, 9, "routes[0].long-poll", "\"maybe\"", "true or false");
    }

    @Test
    void pathPrefixMustStartWithSlash() throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL.replace("path-prefix = \"/\"", "path-prefix = \"api\""));

        assertProblem(problem, 9, "routes[0].path-prefix", "\"api\"", "a path starting with /");
    }

    @Test
    void syntaxErrorIsOneProblemAtItsLine() throws IOException {
        ConfigProblem problem = onlyProblem("""
                listen = "127.0.0.1:8080"
                clusters {
                  echo { backends = [ }
                """);

        assertThat(problem.location()).isEqualTo(file() + ":3");
        assertThat(problem.key()).isEqualTo("(syntax)");
        assertThat(problem.expected()).isEqualTo("valid HOCON");
        assertThat(problem.value()).as("the location is not repeated in the text").doesNotContain(file().toString());
        assertThat(problem.toString()).startsWith(file() + ":3: (syntax): ").endsWith(" (expected: valid HOCON)");
    }

    @Test
    void missingFileIsOneProblemNamingTheFile() {
        Path absent = dir.resolve("absent.conf");

        ConfigProblems thrown = catchThrowableOfType(ConfigProblems.class, () -> ConfigLoader.load(absent));

        assertThat(thrown).isNotNull();
        assertThat(thrown.problems()).singleElement().satisfies(problem -> {
            assertThat(problem.location()).isEqualTo(absent.toString());
            assertThat(problem.key()).isEqualTo("(file)");
            assertThat(problem.expected()).isEqualTo("a readable HOCON file");
        });
    }

    @Test
    void parsedTextIsLocatedAsNameColonLine() {
        ConfigProblems thrown = catchThrowableOfType(ConfigProblems.class,
                () -> ConfigLoader.parse(MINIMAL + "idle-timout = 5s\n", "test.conf"));

        assertThat(thrown).isNotNull();
        assertThat(thrown.getMessage())
                .isEqualTo("test.conf:11: idle-timout: \"5s\" (expected: no such key; did you mean idle-timeout?)");
    }

    @Test
    void everyProblemIsReportedAtOnce() throws IOException {
        List<ConfigProblem> problems = problemsOf(SEVERAL_PROBLEMS);

        assertThat(problems).hasSize(6);
        assertThat(problems).extracting(ConfigProblem::toString).containsExactlyInAnyOrder(
                file() + ":1: idle-timout: \"5s\" (expected: no such key; did you mean idle-timeout?)",
                file() + ":2: backlog: 0 (expected: 1..65535)",
                file() + ":7: clusters.echo.balancer: \"random\" (expected: round-robin | least-connections | hash)",
                file() + ":11: routes[0].path-prefix: \"api\" (expected: a path starting with /)",
                file() + ":12: routes[1].cluster: \"nope\" (expected: one of the clusters: echo)",
                file() + ":14: transport: \"carrier-pigeon\" (expected: auto | epoll | io_uring | nio)");
    }

    @Test
    void problemsAreListedInFileOrder() throws IOException {
        List<ConfigProblem> problems = problemsOf(SEVERAL_PROBLEMS);

        assertThat(problems).extracting(ConfigProblem::key).containsExactly("idle-timout", "backlog",
                "clusters.echo.balancer", "routes[0].path-prefix", "routes[1].cluster", "transport");
    }

    // ---- upstream four-tuples: source addresses, local port range, IP_BIND_ADDRESS_NO_PORT ----

    @Test
    void sourceAddressesExpandRangesInOrderWithoutDuplicates() throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL + """
                upstream.source-addresses = ["127.0.0.9", "127.0.0.2-127.0.0.5", "127.0.0.3", "127.0.0.9", "::1"]
                """, "test.conf");

        assertThat(config.upstream().sourceAddresses()).containsExactly(ip("127.0.0.9"), ip("127.0.0.2"),
                ip("127.0.0.3"), ip("127.0.0.4"), ip("127.0.0.5"), ip("::1"));
    }

    @Test
    void sourceRangeOfOneAddressAndRangesAcrossOctets() throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL + """
                upstream.source-addresses = ["10.0.0.7-10.0.0.7", "10.0.0.254-10.0.1.1"]
                """, "test.conf");

        assertThat(config.upstream().sourceAddresses()).containsExactly(ip("10.0.0.7"), ip("10.0.0.254"),
                ip("10.0.0.255"), ip("10.0.1.0"), ip("10.0.1.1"));
    }

    @Test
    void sourceRangeOf4096AddressesIsTheLimitAndOverlapsCountOnce() throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL + """
                upstream.source-addresses = ["10.0.0.0-10.0.15.255", "10.0.3.3", "10.0.0.0-10.0.0.9"]
                """, "test.conf");

        assertThat(config.upstream().sourceAddresses()).hasSize(4096)
                .startsWith(ip("10.0.0.0"), ip("10.0.0.1")).endsWith(ip("10.0.15.255"));
    }

    static Stream<Arguments> badSourceAddresses() {
        return Stream.of(
                arguments("\"127.0.0.5-127.0.0.2\"", "reversed range"),
                arguments("\"localhost\"", "a host name: nothing is looked up"),
                arguments("\"not-an-ip\"", "garbage with a dash"),
                arguments("\"garbage\"", "garbage"),
                arguments("\"127.0.0.1/24\"", "CIDR is not a range"),
                arguments("\"256.0.0.1\"", "not an IPv4 address"),
                arguments("\"10.0.0.0-10.0.16.0\"", "4097 addresses"),
                arguments("\"::1-::2\"", "IPv6 ranges are not expanded"),
                arguments("\"127.0.0.2-\"", "open range"),
                arguments("5", "not a string"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("badSourceAddresses")
    void badSourceAddressIsOneProblemAtItsLine(String written, String why) throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL + """
                upstream {
                  source-addresses = [
                    "127.0.0.2"
                    %s
                  ]
                }
                """.formatted(written));

        assertProblem(problem, 14, "upstream.source-addresses", written, SOURCES_EXPECTED);
    }

    @Test
    void everyBadSourceAddressIsReported() throws IOException {
        List<ConfigProblem> problems = problemsOf(MINIMAL + """
                upstream.source-addresses = ["127.0.0.5-127.0.0.2", "127.0.0.2", "localhost"]
                """);

        assertThat(problems).extracting(ConfigProblem::toString).containsExactly(
                file() + ":11: upstream.source-addresses: \"127.0.0.5-127.0.0.2\" (expected: " + SOURCES_EXPECTED + ")",
                file() + ":11: upstream.source-addresses: \"localhost\" (expected: " + SOURCES_EXPECTED + ")");
    }

    @Test
    void moreThan4096SourcesInAllIsOneProblemAtTheList() throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL + """
                upstream {
                  source-addresses = ["10.0.0.0-10.0.15.255", "10.1.0.0"]
                }
                """);

        assertProblem(problem, 12, "upstream.source-addresses", "[\"10.0.0.0-10.0.15.255\",\"10.1.0.0\"]",
                "at most 4096 addresses in all");
    }

    @Test
    void sourceAddressesMustBeAList() throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL + "upstream.source-addresses = \"127.0.0.2\"\n");

        assertProblem(problem, 11, "upstream.source-addresses", "\"127.0.0.2\"", "a list [ ... ]");
    }

    @Test
    void clusterSourceAddressesReplaceTheGlobalOnes() throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL + """
                upstream.source-addresses = ["127.0.0.2", "127.0.0.3"]
                clusters {
                  own { backends = ["127.0.0.1:9100"], source-addresses = ["127.0.0.7-127.0.0.8", "127.0.0.2"] }
                  kernel { backends = ["127.0.0.1:9101"], source-addresses = [] }
                }
                """, "test.conf");
        UpstreamSettings upstream = config.upstream();

        assertThat(upstream.sourceAddresses()).containsExactly(ip("127.0.0.2"), ip("127.0.0.3"));
        assertThat(config.clusters().get("echo").sourceAddresses()).isNull();
        assertThat(config.clusters().get("echo").sources(upstream)).as("none of its own: the global ones")
                .containsExactly(ip("127.0.0.2"), ip("127.0.0.3"));
        assertThat(config.clusters().get("own").sources(upstream))
                .containsExactly(ip("127.0.0.7"), ip("127.0.0.8"), ip("127.0.0.2"));
        assertThat(config.clusters().get("kernel").sourceAddresses()).isEmpty();
        assertThat(config.clusters().get("kernel").sources(upstream)).as("[] = kernel-chosen, not the global list")
                .isEmpty();
    }

    @Test
    void clusterSourceAddressesComeFromClusterDefaults() throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL + """
                cluster-defaults { source-addresses = ["127.0.0.4"] }
                clusters.kernel { backends = ["127.0.0.1:9101"], source-addresses = [] }
                """, "test.conf");

        assertThat(config.clusters().get("echo").sources(config.upstream())).containsExactly(ip("127.0.0.4"));
        assertThat(config.clusters().get("kernel").sources(config.upstream())).isEmpty();
    }

    @Test
    void badClusterSourceAddressIsReportedUnderTheCluster() throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL.replace("balancer = round-robin",
                "source-addresses = [\"127.0.0.9-127.0.0.1\"]"));

        assertProblem(problem, 5, "clusters.echo.source-addresses", "\"127.0.0.9-127.0.0.1\"", SOURCES_EXPECTED);
    }

    @Test
    void localPortRangeIsOffByDefault() throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL, "test.conf");

        assertThat(config.upstream().localPortRange()).isNull();
        assertThat(config.upstream().bindAddressNoPort()).isTrue();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "\"40000-49999\"    | 40000 | 49999",
            "40000-49999        | 40000 | 49999",
            "\" 1024-1024 \"    | 1024  | 1024",
            "\"1-65535\"        | 1     | 65535"})
    void localPortRangeIsLowDashHigh(String written, int low, int high) throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL + "upstream.local-port-range = " + written + "\n",
                "test.conf");

        assertThat(config.upstream().localPortRange()).isEqualTo(new PortRange(low, high));
    }

    @Test
    void localPortRangeOffIsNull() throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL + """
                upstream.local-port-range = "40000-49999"
                upstream.local-port-range = off
                """, "test.conf");

        assertThat(config.upstream().localPortRange()).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"\"50000-40000\"", "\"0-10\"", "\"abc\"", "\"40000-65536\"", "\"40000\"",
            "\"40000:49999\"", "40000", "true", "[40000, 49999]"})
    void badLocalPortRangeIsAProblem(String written) throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL + "upstream.local-port-range = " + written + "\n");

        assertThat(problem.location()).isEqualTo(file() + ":11");
        assertThat(problem.key()).isEqualTo("upstream.local-port-range");
        assertThat(problem.expected()).isEqualTo("off, or \"LOW-HIGH\" with 1 <= LOW <= HIGH <= 65535");
    }

    @Test
    void bindAddressNoPortCanBeSwitchedOff() throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL + "upstream.bind-address-no-port = false\n", "test.conf");

        assertThat(config.upstream().bindAddressNoPort()).isFalse();
    }

    @Test
    void bindAddressNoPortMustBeBoolean() throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL + "upstream.bind-address-no-port = sometimes\n");

        assertProblem(problem, 11, "upstream.bind-address-no-port", "\"sometimes\"", "true or false");
    }

    @Test
    void misspeltUpstreamKeySuggestsSourceAddresses() throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL + "upstream.source-adresses = [\"127.0.0.2\"]\n");

        assertProblem(problem, 11, "upstream.source-adresses", "[\"127.0.0.2\"]",
                "no such key; did you mean source-addresses?");
    }

    // ---- socket options: downstream { } and upstream { } ----

    private static final SocketSettings DEFAULT_SOCKET = new SocketSettings(0, 0, true,
            new SocketSettings.TcpKeepalive(Duration.ofSeconds(60), Duration.ofSeconds(10), 6), Duration.ZERO, 0,
            64 * 1024, 32 * 1024, 64, 2048, 64 * 1024);
    private static final String SIZE_EXPECTED = "a size from 1024B to 16777216B, e.g. 64KiB";

    private static SocketSettings socketOf(GatewayConfig config, String side) {
        return side.equals("downstream") ? config.downstream() : config.upstream().socket();
    }

    private static String otherSide(String side) {
        return side.equals("downstream") ? "upstream" : "downstream";
    }

    @ParameterizedTest
    @ValueSource(strings = {"downstream", "upstream"})
    void everySocketKeyIsReadOnItsSideOnly(String side) throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL + """
                %s {
                  rcvbuf = 32KiB
                  sndbuf = 1MiB
                  nodelay = false
                  tcp-keepalive { idle = 37s, interval = 11s, count = 4 }
                  user-timeout = 7000ms
                  notsent-lowat = 16KiB
                  write-buffer-high-water = 48KiB
                  write-buffer-low-water = 24KiB
                  receive-buffer { min = 128B, initial = 1KiB, max = 16KiB }
                }
                """.formatted(side), "test.conf");

        assertThat(socketOf(config, side)).isEqualTo(new SocketSettings(32 * 1024, 1024 * 1024, false,
                new SocketSettings.TcpKeepalive(Duration.ofSeconds(37), Duration.ofSeconds(11), 4),
                Duration.ofMillis(7000), 16 * 1024, 48 * 1024, 24 * 1024, 128, 1024, 16 * 1024));
        assertThat(socketOf(config, otherSide(side))).as("the other side keeps the defaults").isEqualTo(DEFAULT_SOCKET);
    }

    @ParameterizedTest
    @ValueSource(strings = {"downstream", "upstream"})
    void autoAndOffSwitchSocketOptionsOff(String side) throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL + """
                %1$s { rcvbuf = 64KiB, sndbuf = 64KiB, user-timeout = 30s, notsent-lowat = 128KiB }
                %1$s { rcvbuf = auto, sndbuf = auto, tcp-keepalive = off, user-timeout = off, notsent-lowat = off }
                """.formatted(side), "test.conf");

        SocketSettings socket = socketOf(config, side);
        assertThat(socket.rcvbuf()).as("auto = kernel autotuning").isZero();
        assertThat(socket.sndbuf()).as("auto = kernel autotuning").isZero();
        assertThat(socket.keepalive()).isNull();
        assertThat(socket.userTimeout()).isEqualTo(Duration.ZERO);
        assertThat(socket.notsentLowat()).isZero();
    }

    @Test
    void nestedSocketKeysOverrideOneAtATime() throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL + """
                downstream.tcp-keepalive.idle = 5m
                upstream.receive-buffer.max = 1MiB
                upstream.tcp-keepalive.count = 127
                """, "test.conf");

        assertThat(config.downstream().keepalive()).isEqualTo(
                new SocketSettings.TcpKeepalive(Duration.ofMinutes(5), Duration.ofSeconds(10), 6));
        assertThat(config.upstream().socket().keepalive()).isEqualTo(
                new SocketSettings.TcpKeepalive(Duration.ofSeconds(60), Duration.ofSeconds(10), 127));
        assertThat(config.upstream().socket().receiveMax()).isEqualTo(1024 * 1024);
        assertThat(config.upstream().socket().receiveInitial()).isEqualTo(2048);
    }

    @Test
    void keepaliveIdleUpToTheKernelsLimit() throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL + "downstream.tcp-keepalive.idle = 32767s\n", "test.conf");

        assertThat(config.downstream().keepalive().idle()).isEqualTo(Duration.ofSeconds(32767));
    }

    static Stream<Arguments> badSocketValues() {
        return Stream.of(
                arguments("rcvbuf = 512B", "rcvbuf", "\"512B\"", "auto, or " + SIZE_EXPECTED),
                arguments("rcvbuf = 32MiB", "rcvbuf", "\"32MiB\"", "auto, or " + SIZE_EXPECTED),
                arguments("sndbuf = lots", "sndbuf", "\"lots\"", "auto, or " + SIZE_EXPECTED),
                arguments("sndbuf = off", "sndbuf", "\"off\"", "auto, or " + SIZE_EXPECTED),
                arguments("nodelay = maybe", "nodelay", "\"maybe\"", "true or false"),
                arguments("tcp-keepalive = on", "tcp-keepalive", "\"on\"", "off, or { idle, interval, count }"),
                arguments("tcp-keepalive = 60", "tcp-keepalive", "60", "off, or { idle, interval, count }"),
                arguments("tcp-keepalive.count = -1", "tcp-keepalive.count", "-1", "1..127"),
                arguments("tcp-keepalive.count = 0", "tcp-keepalive.count", "0", "1..127"),
                arguments("tcp-keepalive.count = 128", "tcp-keepalive.count", "128", "1..127"),
                arguments("tcp-keepalive.idle = 500ms", "tcp-keepalive.idle", "\"500ms\"",
                        "a duration from 1s to 32767s"),
                // The kernel refuses TCP_KEEPIDLE above 32767s: every accepted connection would fail.
                arguments("tcp-keepalive.idle = 10h", "tcp-keepalive.idle", "\"10h\"", "a duration from 1s to 32767s"),
                arguments("tcp-keepalive.idle = off", "tcp-keepalive.idle", "\"off\"", "a duration from 1s to 32767s"),
                arguments("tcp-keepalive.interval = 2h", "tcp-keepalive.interval", "\"2h\"", "a duration from 1s to 1h"),
                arguments("tcp-keepalive.interval = 0s", "tcp-keepalive.interval", "\"0s\"", "a duration from 1s to 1h"),
                arguments("tcp-keepalive.intervall = 5s", "tcp-keepalive.intervall", "\"5s\"",
                        "no such key; did you mean interval?"),
                arguments("user-timeout = 100ms", "user-timeout", "\"100ms\"", "off, or a duration from 1s to 1d"),
                arguments("user-timeout = 2d", "user-timeout", "\"2d\"", "off, or a duration from 1s to 1d"),
                arguments("notsent-lowat = 100B", "notsent-lowat", "\"100B\"", "off, or " + SIZE_EXPECTED),
                arguments("notsent-lowat = auto", "notsent-lowat", "\"auto\"", "off, or " + SIZE_EXPECTED),
                arguments("write-buffer-high-water = 128MiB", "write-buffer-high-water", "\"128MiB\"",
                        "a size from 1024B to 67108864B, e.g. 64KiB"),
                arguments("write-buffer-low-water = -1", "write-buffer-low-water", "-1",
                        "a size from 1024B to 67108864B, e.g. 64KiB"),
                arguments("receive-buffer.min = 32B", "receive-buffer.min", "\"32B\"",
                        "a size from 64B to 1048576B, e.g. 64KiB"),
                arguments("receive-buffer.max = 32MiB", "receive-buffer.max", "\"32MiB\"",
                        "a size from 64B to 16777216B, e.g. 64KiB"),
                arguments("receive-buffer = 4KiB", "receive-buffer", "\"4KiB\"", "an object { ... }"),
                arguments("receive-buffer.mx = 1KiB", "receive-buffer.mx", "\"1KiB\"", "no such key; did you mean max?"));
    }

    static Stream<Arguments> sidesAndBadSocketValues() {
        return Stream.of("downstream", "upstream").flatMap(side -> badSocketValues().map(args -> {
            Object[] a = args.get();
            return arguments(side, a[0], a[1], a[2], a[3]);
        }));
    }

    @ParameterizedTest(name = "{0}.{1}")
    @MethodSource("sidesAndBadSocketValues")
    void badSocketValueIsOneProblemNamingTheSidesKey(String side, String line, String key, String value,
            String expected) throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL + side + "." + line + "\n");

        assertProblem(problem, 11, side + "." + key, value, expected);
    }

    @Test
    void upstreamOnlyKeysAreUnknownDownstream() throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL + "downstream.keepalive-max-idle = 8\n");

        assertThat(problem.key()).isEqualTo("downstream.keepalive-max-idle");
        assertThat(problem.expected()).startsWith("no such key");
    }

    @ParameterizedTest
    @ValueSource(strings = {"downstream", "upstream"})
    void lowWaterMustBeBelowHighWater(String side) throws IOException {
        assertProblem(onlyProblem(MINIMAL + side + " { write-buffer-high-water = 16KiB, write-buffer-low-water = 16KiB }\n"),
                11, side + ".write-buffer-low-water", "\"16KiB\"", "less than write-buffer-high-water (16384 bytes)");
        assertProblem(onlyProblem(MINIMAL + side + ".write-buffer-low-water = 64KiB\n"),
                11, side + ".write-buffer-low-water", "\"64KiB\"", "less than write-buffer-high-water (65536 bytes)");
        // Only the high mark written, below the default low one: the problem is where the user wrote.
        assertProblem(onlyProblem(MINIMAL + side + ".write-buffer-high-water = 16KiB\n"),
                11, side + ".write-buffer-high-water", "\"16KiB\"", "more than write-buffer-low-water (32768 bytes)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"downstream", "upstream"})
    void receiveBufferMustBeMinAtMostInitialAtMostMax(String side) throws IOException {
        String key = side + ".receive-buffer.";
        assertProblem(onlyProblem(MINIMAL + key + "min = 4KiB\n"),
                11, key + "min", "\"4KiB\"", "at most initial (2048 bytes)");
        assertProblem(onlyProblem(MINIMAL + key + "max = 1KiB\n"),
                11, key + "max", "\"1KiB\"", "at least initial (2048 bytes)");
        assertProblem(onlyProblem(MINIMAL + key + "initial = 128KiB\n"),
                11, key + "initial", "\"128KiB\"", "at most max (65536 bytes)");
        assertProblem(onlyProblem(MINIMAL + key + "initial = 32KiB\n" + key + "min = 64KiB\n"),
                12, key + "min", "\"64KiB\"", "at most initial (32768 bytes)");
        assertProblem(onlyProblem(MINIMAL + side + ".receive-buffer { min = 1KiB, initial = 1KiB, max = 512B }\n"),
                11, key + "initial", "\"1KiB\"", "at most max (512 bytes)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"downstream", "upstream"})
    void equalReceiveBufferSizesAreFine(String side) throws Exception {
        GatewayConfig config = ConfigLoader.parse(MINIMAL + side + ".receive-buffer { min = 4KiB, initial = 4KiB, max = 4KiB }\n",
                "test.conf");

        assertThat(socketOf(config, side).receiveMin()).isEqualTo(4096);
        assertThat(socketOf(config, side).receiveMax()).isEqualTo(4096);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "downstream = 5                                 | downstream                   | 5",
            "downstream.write-buffer-high-water = 100B      | downstream.write-buffer-high-water | \"100B\"",
            "upstream.write-buffer-low-water = lots         | upstream.write-buffer-low-water    | \"lots\"",
            "upstream.receive-buffer.initial = 2MiB         | upstream.receive-buffer.initial    | \"2MiB\"",
            "downstream.receive-buffer.min = tiny           | downstream.receive-buffer.min      | \"tiny\""})
    void aBadSocketValueHidesNoOtherAndCausesNoSecond(String line, String key, String value) throws IOException {
        // A bad value's placeholder must not then fail the low < high or min <= initial <= max checks.
        ConfigProblem problem = onlyProblem(MINIMAL + line + "\n");

        assertThat(problem.key()).isEqualTo(key);
        assertThat(problem.value()).isEqualTo(value);
        assertThat(problem.location()).isEqualTo(file() + ":11");
    }

    @Test
    void problemsOnBothSidesAreAllReported() throws IOException {
        List<ConfigProblem> problems = problemsOf(MINIMAL + """
                downstream { rcvbuf = 1B, tcp-keepalive { count = 0 } }
                upstream { user-timeout = 1ms, receive-buffer { min = 8KiB } }
                """);

        assertThat(problems).extracting(ConfigProblem::key).containsExactly(
                "downstream.rcvbuf", "downstream.tcp-keepalive.count", "upstream.user-timeout",
                "upstream.receive-buffer.min");
    }

    @Test
    void perClientLimitsAreOffByDefaultWithAPrefixOf64AndATableOf65536() throws Exception {
        AdmissionSettings.PerClient perClient = ConfigLoader.parse(MINIMAL, "test.conf").admission().perClient();

        assertThat(perClient).isEqualTo(new AdmissionSettings.PerClient(0, 0, 64, 65_536));
        assertThat(perClient.enabled()).isFalse();
    }

    @Test
    void perClientLimitsAreReadFromTheFile() throws Exception {
        AdmissionSettings.PerClient perClient = ConfigLoader.parse(MINIMAL + """
                admission.per-client { max-connections = 100, connect-rate = 20, ipv6-prefix = 48, table-size = 1000 }
                """, "test.conf").admission().perClient();

        assertThat(perClient).isEqualTo(new AdmissionSettings.PerClient(100, 20, 48, 1000));
        assertThat(perClient.enabled()).isTrue();
        assertThat(ConfigLoader.parse(MINIMAL + "admission.per-client.connect-rate = 5\n", "t").admission()
                .perClient().enabled()).as("either limit switches the table on").isTrue();
    }

    static Stream<Arguments> badPerClientValues() {
        return Stream.of(
                arguments("max-connections = 0", "max-connections", "0", "off or 1..1000000"),
                arguments("max-connections = lots", "max-connections", "\"lots\"", "off or 1..1000000"),
                arguments("connect-rate = 2000000", "connect-rate", "2000000", "off or 1..1000000"),
                arguments("ipv6-prefix = 128", "ipv6-prefix", "128", "32..64"),
                arguments("ipv6-prefix = 24", "ipv6-prefix", "24", "32..64"),
                arguments("table-size = 8", "table-size", "8", "16..1048576"),
                arguments("table-size = off", "table-size", "\"off\"", "16..1048576"));
    }

    @ParameterizedTest
    @MethodSource("badPerClientValues")
    void badPerClientValueIsOneProblemAtItsLine(String line, String key, String value, String expected)
            throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL + "admission {\n  per-client {\n    " + line + "\n  }\n}\n");

        assertProblem(problem, 13, "admission.per-client." + key, value, expected);
    }

    @Test
    void unknownPerClientKeyIsRejectedWithASuggestion() throws IOException {
        ConfigProblem problem = onlyProblem(MINIMAL + "admission.per-client.max-conections = 5\n");

        assertThat(problem.location()).isEqualTo(file() + ":11");
        assertThat(problem.key()).isEqualTo("admission.per-client.max-conections");
        assertThat(problem.expected()).isEqualTo("no such key; did you mean max-connections?");
    }

    private static InetAddress ip(String literal) throws IOException {
        return InetAddress.getByName(literal);
    }

    private Path file() {
        return dir.resolve("gateway.conf");
    }

    private List<ConfigProblem> problemsOf(String text) throws IOException {
        Files.writeString(file(), text);
        ConfigProblems thrown = catchThrowableOfType(ConfigProblems.class, () -> ConfigLoader.load(file()));
        assertThat(thrown).as("ConfigProblems for:%n%s", text).isNotNull();
        assertThat(thrown.getMessage()).isEqualTo(String.join("\n",
                thrown.problems().stream().map(ConfigProblem::toString).toList()));
        return thrown.problems();
    }

    private ConfigProblem onlyProblem(String text) throws IOException {
        List<ConfigProblem> problems = problemsOf(text);
        assertThat(problems).hasSize(1);
        return problems.get(0);
    }

    /** The one format of every problem: {@code FILE:LINE: key: value (expected: ...)}. */
    private void assertProblem(ConfigProblem problem, int line, String key, String value, String expected) {
        assertThat(problem.toString())
                .isEqualTo(file() + ":" + line + ": " + key + ": " + value + " (expected: " + expected + ")");
    }
}
