package dev.fourtuple.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fourtuple.gateway.host.ProcFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The four-tuple arithmetic, proven on a real kernel: each scenario runs {@link PortsScenario} (echo backends,
 * the gateway and the WebSocket clients in one JVM) inside a fresh network namespace whose ephemeral range is
 * 100 ports, so P = 100. Needs root: skipped on a developer machine without it, but never in CI.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PortsNamespaceTest {
    private static final int P = 100;
    private static final Path GLOBAL_RANGE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
    private static final List<String> CREATED = new ArrayList<>();
    private static String globalRangeBefore;

    @BeforeAll
    static void needsRoot() throws Exception {
        boolean root = ProcFiles.read(Path.of("/proc/self/status")).lines()
                .anyMatch(line -> line.startsWith("Uid:") && line.split("\\s+")[1].equals("0"));
        if (!root && "true".equals(System.getenv("CI"))) {
            fail("CI must run this as root: it creates network namespaces");
        }
        assumeTrue(root, "network namespaces need root");
        globalRangeBefore = ProcFiles.read(GLOBAL_RANGE);
    }

    @AfterAll
    static void machineIsUntouched() throws Exception {
        if (globalRangeBefore == null) {
            return;
        }
        assertThat(ProcFiles.read(GLOBAL_RANGE)).as("the machine's own range").isEqualTo(globalRangeBefore);
        assertThat(Netns.list()).as("every namespace created was deleted").doesNotContainAnyElementsOf(CREATED);
    }

    @Test
    void oneSourceOneBackendHoldsPTunnelsAndRefusesTheRestWith503() throws Exception {
        JsonNode result = scenario("--sources", "127.0.0.2", "--backends", "1", "--tunnels", String.valueOf(P + 20));

        assertThat(result.get("ports").asInt()).isEqualTo(P);
        assertThat(result.get("held").asInt()).isEqualTo(P);
        assertThat(result.get("refused").path("503").asInt()).isEqualTo(20);
        assertThat(result.get("errors").asInt()).as("no client hangs or errs: %s", result.get("errorSamples")).isZero();
        assertThat(result.get("echoed").asInt()).as("the held tunnels still echo").isEqualTo(P);
    }

    @Test
    void whenOnlyTheKernelLimitsItEaddrnotavailIsLearnedNotFatal() throws Exception {
        JsonNode result = scenario("--sources", "127.0.0.2", "--backends", "1", "--tunnels", String.valueOf(P + 20),
                "--kernel-only");

        assertThat(result.get("eaddrnotavail").asInt()).as("the kernel did refuse ports").isPositive();
        assertThat(result.get("held").asInt()).isBetween(P - 2, P);
        assertThat(result.get("held").asInt() + result.get("refused").path("503").asInt()).isEqualTo(P + 20);
        assertThat(result.get("errors").asInt()).isZero();
        assertThat(result.get("echoed").asInt()).isEqualTo(result.get("held").asInt());
    }

    @Test
    void fourSourcesTimesTwoBackendsHoldEightTimesPSpreadEvenly() throws Exception {
        JsonNode result = scenario("--sources", "127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5", "--backends", "2",
                "--tunnels", String.valueOf(8 * P + 20));

        int held = result.get("held").asInt();
        assertThat(held).isBetween((int) (8 * P * 0.98), (int) (8 * P * 1.02));
        assertThat(result.get("errors").asInt()).isZero();
        assertThat(result.get("echoed").asInt()).isEqualTo(held);
        assertThat(result.get("tuples")).hasSize(8);
        for (JsonNode tuple : result.get("tuples")) {
            assertThat(tuple.get("inUse").asInt()).as("tuple %s", tuple).isBetween((int) (P * 0.9), (int) (P * 1.1));
        }
    }

    @Test
    void bindAddressNoPortLetsOneSourceServeEachBackendFully() throws Exception {
        JsonNode without = scenario("--sources", "127.0.0.2", "--backends", "2", "--tunnels", String.valueOf(2 * P + 20),
                "--no-port", "false", "--kernel-only");
        JsonNode with = scenario("--sources", "127.0.0.2", "--backends", "2", "--tunnels", String.valueOf(2 * P + 20),
                "--kernel-only");

        // bind(ip, 0) reserves a port for the source across all destinations: one source, P in total.
        assertThat(without.get("held").asInt()).isBetween((int) (P * 0.95), (int) (P * 1.05));
        // IP_BIND_ADDRESS_NO_PORT defers the port to connect(): P towards each backend.
        assertThat(with.get("held").asInt()).isBetween((int) (2 * P * 0.95), (int) (2 * P * 1.05));
        assertThat(without.get("errors").asInt() + with.get("errors").asInt()).isZero();
    }

    /** Clients that vanish (a reset): nothing can be in flight, so the gateway resets upstream too. */
    @Test
    void clientsThatVanishFreeTheirPortsAtOnce() throws Exception {
        JsonNode result = scenario("--sources", "127.0.0.2,127.0.0.3", "--backends", "2",
                "--tunnels", String.valueOf(4 * P), "--close-half");

        assertThat(result.get("held").asInt()).isEqualTo(4 * P);
        int closed = result.get("closed").asInt();
        assertThat(closed).isEqualTo(2 * P);
        assertThat(result.get("reopened").asInt()).as("as many as were closed open again").isEqualTo(closed);
        assertThat(result.get("reopenedEchoed").asInt()).isEqualTo(closed);
        assertThat(result.get("timeWaitAfterClose").get("gatewayUpstream").asInt())
                .as("no TIME_WAIT left on the gateway's upstream tuples").isZero();
    }

    /**
     * Clients that close with a FIN may still be reading (RFC 9293 §3.6): the FIN is relayed, the backend closes
     * in turn, and the gateway, which sent the first FIN upstream, keeps the TIME_WAIT, one per tunnel. The
     * price of losing nothing a half-closed client may still be owed; README, "TIME_WAIT".
     */
    @Test
    void clientsThatCloseWithAFinHaveItRelayedUpstream() throws Exception {
        JsonNode result = scenario("--sources", "127.0.0.2,127.0.0.3", "--backends", "2",
                "--tunnels", String.valueOf(2 * P), "--close-half", "--close-with", "fin");

        int closed = result.get("closed").asInt();
        assertThat(closed).isEqualTo(P);
        assertThat(result.get("timeWaitAfterClose").get("gatewayUpstream").asInt())
                .as("each relayed FIN leaves the gateway first closer upstream").isEqualTo(closed);
        assertThat(result.get("reopenedEchoed").asInt()).as("the other half of the capacity still serves")
                .isEqualTo(result.get("reopened").asInt());
    }

    /** Runs the scenario in a fresh namespace with P ephemeral ports and returns its RESULT. */
    private static JsonNode scenario(String... args) throws Exception {
        try (Netns netns = Netns.create(40000, 40000 + P - 1)) {
            CREATED.add(netns.name());
            List<String> command = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx256m", "-cp", System.getProperty("java.class.path"), PortsScenario.class.getName()));
            command.addAll(List.of(args));
            String output = netns.exec(command.toArray(String[]::new));
            String line = output.lines().filter(l -> l.startsWith("RESULT ")).findFirst()
                    .orElseThrow(() -> new AssertionError("no RESULT line in:\n" + output));
            Files.writeString(Path.of("target", "ports-" + String.join("_", args).replace("-", "") + ".json"),
                    line.substring("RESULT ".length()));
            return new ObjectMapper().readTree(line.substring("RESULT ".length()));
        }
    }
}
