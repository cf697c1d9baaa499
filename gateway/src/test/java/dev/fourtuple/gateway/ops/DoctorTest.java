package dev.fourtuple.gateway.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.InstanceOfAssertFactories.STRING;

import dev.fourtuple.gateway.config.ConfigLoader;
import dev.fourtuple.gateway.config.ConfigProblems;
import dev.fourtuple.gateway.config.GatewayConfig;
import dev.fourtuple.gateway.config.PortRange;
import dev.fourtuple.gateway.host.CgroupMemory;
import dev.fourtuple.gateway.host.EphemeralPorts;
import dev.fourtuple.gateway.host.HostLimits;
import dev.fourtuple.gateway.host.TcpMemory;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * {@link Doctor#report} on configs as {@code ConfigLoader} maps them and hosts built as records: each case
 * makes a different resource bind first, and checks the count it allows.
 */
class DoctorTest {
    private static final long GIB = 1L << 30;
    private static final long MIB = 1L << 20;
    /** (512 MiB - 256 MiB baseline) / (3,300 + 8,000 bytes per idle connection). */
    private static final long HALF_GIB_CONNECTIONS = (512 * MIB - 256 * MIB) / 11_300;
    /** tcp_mem this large never binds: pressure / 32 connections at 2 x 64 KiB each. */
    private static final TcpMemory LARGE_TCP_MEM = new TcpMemory(0, 100_000_000, 200_000_000, 300_000_000);
    private static final PortRange DEFAULT_PORTS = new PortRange(32768, 60999);
    private static final PortRange HUNDRED_PORTS = new PortRange(40000, 40099);
    private static final PortRange WIDE_PORTS = new PortRange(1024, 65535);

    private static final String ONE_BACKEND = """
            listen = "127.0.0.1:8080"
            clusters { c { backends = ["10.0.1.10:8000"] } }
            routes = [ { cluster = c } ]
            """;
    private static final String TWO_BACKENDS = """
            listen = "127.0.0.1:8080"
            clusters { c { backends = ["10.0.1.10:8000", "10.0.1.11:8000"] } }
            routes = [ { cluster = c } ]
            """;
    private static final String FOUR_SOURCES = "upstream.source-addresses = [\"10.0.0.2-10.0.0.5\"]\n";

    private static GatewayConfig config(String hocon) throws ConfigProblems {
        return ConfigLoader.parse(hocon, "doctor-test.conf");
    }

    private static HostLimits host(long openFiles, PortRange ports, long memTotal, @Nullable CgroupMemory cgroup) {
        return new HostLimits(openFiles, 1_048_576, 9_223_372_036_854_775_807L, new EphemeralPorts(ports, new BitSet()),
                4096, LARGE_TCP_MEM, memTotal, cgroup, 4);
    }

    private static Doctor.Row row(Doctor.Report report, String resourcePrefix) {
        return report.rows().stream().filter(r -> r.resource().startsWith(resourcePrefix)).findFirst()
                .orElseThrow(() -> new AssertionError("no row " + resourcePrefix + " in " + report.rows()));
    }

    // --- file descriptors bind first

    @Test
    void fdBoundHostBindsOnFileDescriptorsWithTheAutoReserve() throws ConfigProblems {
        Doctor.Report report = Doctor.report(config(ONE_BACKEND), host(20_000, DEFAULT_PORTS, 64 * GIB, null));

        // auto reserve = max(64, 1% of 20,000) = 200; (20,000 - 64 baseline - 200) / 2 fds per connection.
        assertThat(report.binding().resource()).isEqualTo("file descriptors");
        assertThat(report.binding().connections()).isEqualTo((20_000 - 64 - 200) / 2).isEqualTo(9_868);
        assertThat(report.binding().limit()).startsWith("RLIMIT_NOFILE 20000 (fs.nr_open 1048576, fs.file-max ");
        assertThat(report.binding().whenHit()).contains("admission keeps 200 fds free", "EMFILE");
        assertThat(report.binding().raise()).contains("LimitNOFILE=");
        assertThat(report.maxConnections()).isZero();
        assertThat(report.belowMaxConnections()).isFalse();
        assertThat(report.rows()).extracting(Doctor.Row::resource).doesNotContain("max-connections (config)");
    }

    @Test
    void autoReserveIsAtLeast64Fds() throws ConfigProblems {
        Doctor.Report report = Doctor.report(config(ONE_BACKEND), host(4_096, DEFAULT_PORTS, 64 * GIB, null));

        // 1% of 4,096 is 40, below the floor of 64.
        assertThat(report.binding().resource()).isEqualTo("file descriptors");
        assertThat(report.binding().connections()).isEqualTo((4_096 - 64 - 64) / 2);
        assertThat(report.binding().whenHit()).contains("admission keeps 64 fds free");
    }

    @Test
    void anExplicitFdReserveReplacesTheAutoOne() throws ConfigProblems {
        GatewayConfig config = config(ONE_BACKEND + "admission.fd-reserve = 1000\n");

        Doctor.Report report = Doctor.report(config, host(20_000, DEFAULT_PORTS, 64 * GIB, null));

        assertThat(report.binding().connections()).isEqualTo((20_000 - 64 - 1_000) / 2);
        assertThat(report.binding().whenHit()).contains("admission keeps 1000 fds free");
    }

    @Test
    void aFileMaxBelowTheRlimitBindsTheFdRow() throws ConfigProblems {
        HostLimits host = new HostLimits(20_000, 1_048_576, 10_000, new EphemeralPorts(DEFAULT_PORTS, new BitSet()),
                4096, LARGE_TCP_MEM, 64 * GIB, null, 4);

        Doctor.Report report = Doctor.report(config(ONE_BACKEND), host);

        assertThat(report.binding().resource()).isEqualTo("file descriptors");
        assertThat(report.binding().connections()).isEqualTo((10_000 - 64 - 200) / 2);
        assertThat(report.binding().limit()).isEqualTo("RLIMIT_NOFILE 20000 (fs.nr_open 1048576, fs.file-max 10000)");
    }

    // --- ephemeral ports bind first

    @Test
    void portBoundHostWithOneBackendAndNoSourcesBindsOnPorts() throws ConfigProblems {
        Doctor.Report report = Doctor.report(config(ONE_BACKEND), host(1_000_000, HUNDRED_PORTS, 64 * GIB, null));

        assertThat(report.binding().resource()).isEqualTo("ephemeral ports (upstream four-tuples)");
        assertThat(report.binding().connections()).isEqualTo(100);
        assertThat(report.binding().limit())
                .isEqualTo("1 {source IP, backend} pair(s) x 100 ports (ip_local_port_range 40000-40099)");
        assertThat(report.binding().whenHit()).contains("EADDRNOTAVAIL");
        assertThat(row(report, "file descriptors").connections()).isEqualTo((1_000_000 - 64 - 10_000) / 2);
    }

    @Test
    void fourSourcesTimesTwoBackendsTimesPorts() throws ConfigProblems {
        Doctor.Report report = Doctor.report(config(TWO_BACKENDS + FOUR_SOURCES),
                host(1_000_000, HUNDRED_PORTS, 64 * GIB, null));

        assertThat(report.binding().resource()).isEqualTo("ephemeral ports (upstream four-tuples)");
        assertThat(report.binding().connections()).isEqualTo(4 * 2 * 100);
        assertThat(report.binding().limit()).startsWith("8 {source IP, backend} pair(s) x 100 ports");
    }

    @Test
    void withoutBindAddressNoPortEachSourceCapsAtPPorts() throws ConfigProblems {
        GatewayConfig config = config(TWO_BACKENDS + FOUR_SOURCES + "upstream.bind-address-no-port = false\n");

        Doctor.Report report = Doctor.report(config, host(1_000_000, HUNDRED_PORTS, 64 * GIB, null));

        // bind() reserves the port for the source IP across all backends: 4 sources x 100, not x 2 backends.
        assertThat(report.binding().resource()).isEqualTo("ephemeral ports (upstream four-tuples)");
        assertThat(report.binding().connections()).isEqualTo(4 * 100);
    }

    @Test
    void theNioTransportCapsEachSourceLikeBindAddressNoPortOff() throws ConfigProblems {
        GatewayConfig config = config(TWO_BACKENDS + FOUR_SOURCES + "transport = nio\n");

        Doctor.Report report = Doctor.report(config, host(1_000_000, HUNDRED_PORTS, 64 * GIB, null));

        assertThat(report.binding().connections()).isEqualTo(4 * 100);
    }

    @Test
    void withoutSourcesBindAddressNoPortOffChangesNothing() throws ConfigProblems {
        // No source address: the gateway never binds, connect() picks the port per four-tuple, and the port
        // ledger (PortLedger.headroom) applies no per-source cap to kernel-chosen sources. Each backend has P.
        GatewayConfig config = config(TWO_BACKENDS + "upstream.bind-address-no-port = false\n");

        Doctor.Report report = Doctor.report(config, host(1_000_000, HUNDRED_PORTS, 64 * GIB, null));

        assertThat(report.binding().resource()).isEqualTo("ephemeral ports (upstream four-tuples)");
        assertThat(report.binding().connections()).isEqualTo(2 * 100);
    }

    @Test
    void aBackendSharedByTwoClustersIsOneTuple() throws ConfigProblems {
        GatewayConfig config = config("""
                listen = "127.0.0.1:8080"
                clusters {
                  a { backends = ["10.0.1.10:8000", "10.0.1.11:8000"] }
                  b { backends = ["10.0.1.11:8000"] }
                }
                routes = [ { path-prefix = "/b", cluster = b }, { cluster = a } ]
                """);

        Doctor.Report report = Doctor.report(config, host(1_000_000, HUNDRED_PORTS, 64 * GIB, null));

        assertThat(report.binding().connections()).isEqualTo(2 * 100);
    }

    @Test
    void reservedPortsAndLocalPortRangeShrinkP() throws ConfigProblems {
        BitSet reserved = new BitSet();
        reserved.set(40000, 40010);
        HostLimits host = new HostLimits(1_000_000, 1_048_576, Long.MAX_VALUE,
                new EphemeralPorts(HUNDRED_PORTS, reserved), 4096, LARGE_TCP_MEM, 64 * GIB, null, 4);

        Doctor.Report system = Doctor.report(config(ONE_BACKEND), host);
        Doctor.Report clamped = Doctor.report(config(ONE_BACKEND + "upstream.local-port-range = \"40000-40049\"\n"),
                host);

        assertThat(system.binding().connections()).isEqualTo(90);
        assertThat(clamped.binding().connections()).isEqualTo(40);
        assertThat(clamped.binding().limit()).endsWith("(ip_local_port_range 40000-40099, local-port-range 40000-40049)");
    }

    // --- memory binds first

    @Test
    void memoryBoundHostBindsOnRam() throws ConfigProblems {
        Doctor.Report report = Doctor.report(config(ONE_BACKEND), host(1_000_000, WIDE_PORTS, 512 * MIB, null));

        assertThat(report.binding().resource()).isEqualTo("memory");
        assertThat(report.binding().connections())
                .isEqualTo((512 * MIB - 256 * MIB) / (Doctor.GATEWAY_BYTES_PER_CONNECTION + Doctor.KERNEL_BYTES_PER_CONNECTION))
                .isEqualTo(HALF_GIB_CONNECTIONS)
                .isEqualTo(23_755);
        assertThat(report.binding().limit()).isEqualTo("512.0 MiB (RAM) at 11.3 KB per idle connection (measured)");
        assertThat(row(report, "ephemeral ports").connections()).isEqualTo(64_512);
    }

    @Test
    void memoryBoundHostBindsOnTheCgroupMemoryMax() throws ConfigProblems {
        CgroupMemory cgroup = new CgroupMemory(100 * MIB, 512 * MIB);

        Doctor.Report report = Doctor.report(config(ONE_BACKEND), host(1_000_000, DEFAULT_PORTS, 16 * GIB, cgroup));

        assertThat(report.binding().resource()).isEqualTo("memory");
        assertThat(report.binding().connections()).isEqualTo(HALF_GIB_CONNECTIONS).isEqualTo(23_755);
        assertThat(report.binding().limit()).startsWith("512.0 MiB (cgroup memory.max 512.0 MiB)");
    }

    @Test
    void aCgroupLimitAboveRamCountsRam() throws ConfigProblems {
        CgroupMemory cgroup = new CgroupMemory(100 * MIB, 8 * GIB);

        Doctor.Report report = Doctor.report(config(ONE_BACKEND), host(1_000_000, WIDE_PORTS, 512 * MIB, cgroup));

        assertThat(report.binding().resource()).isEqualTo("memory");
        assertThat(report.binding().connections()).isEqualTo(HALF_GIB_CONNECTIONS);
    }

    @Test
    void memoryBelowTheBaselineAllowsNoConnections() throws ConfigProblems {
        Doctor.Report report = Doctor.report(config(ONE_BACKEND), host(1_000_000, WIDE_PORTS, 128 * MIB, null));

        assertThat(report.binding().resource()).isEqualTo("memory");
        assertThat(report.binding().connections()).isZero();
    }

    // --- kernel TCP memory, and the rows that never bind

    @Test
    void aSmallTcpMemPressureBindsTheKernelTcpMemoryRow() throws ConfigProblems {
        HostLimits host = new HostLimits(1_000_000, 1_048_576, Long.MAX_VALUE,
                new EphemeralPorts(WIDE_PORTS, new BitSet()), 4096, new TcpMemory(10, 16_000, 32_000, 48_000),
                64 * GIB, null, 4);

        Doctor.Report report = Doctor.report(config(ONE_BACKEND), host);

        // 32,000 pages x 4 KiB / (2 sockets x 64 KiB buffers)
        assertThat(report.binding().resource()).isEqualTo("kernel TCP memory");
        assertThat(report.binding().connections()).isEqualTo(32_000L * 4096 / (2 * 65_536)).isEqualTo(1_000);
        assertThat(report.binding().limit()).startsWith("net.ipv4.tcp_mem pressure 32000 pages (125.0 MiB)");
    }

    @Test
    void threadsCpuAndBacklogAreNotCountLimits() throws ConfigProblems {
        GatewayConfig config = config(ONE_BACKEND + "event-loops = 8\nbacklog = 16384\n");
        HostLimits host = new HostLimits(20_000, -1, Long.MAX_VALUE, new EphemeralPorts(DEFAULT_PORTS, new BitSet()),
                1024, LARGE_TCP_MEM, 64 * GIB, null, 4);

        Doctor.Report report = Doctor.report(config, host);

        assertThat(row(report, "threads / event loops").limit()).isEqualTo("8 event loop(s) on 4 core(s)");
        assertThat(row(report, "CPU").limit()).isEqualTo("4 core(s)");
        assertThat(row(report, "listen backlog").limit())
                .isEqualTo("backlog 16384, net.core.somaxconn 1024: 1024 connections can wait to be accepted");
        assertThat(List.of(row(report, "threads"), row(report, "CPU"), row(report, "listen backlog")))
                .extracting(Doctor.Row::connections).containsOnly(Long.MAX_VALUE);
    }

    @Test
    void anUnknownSomaxconnLeavesTheConfiguredBacklog() throws ConfigProblems {
        HostLimits host = new HostLimits(20_000, -1, Long.MAX_VALUE, new EphemeralPorts(DEFAULT_PORTS, new BitSet()),
                -1, LARGE_TCP_MEM, 64 * GIB, null, 4);

        Doctor.Report report = Doctor.report(config(ONE_BACKEND), host);

        assertThat(row(report, "listen backlog").limit())
                .isEqualTo("backlog 4096, net.core.somaxconn -1: 4096 connections can wait to be accepted");
        assertThat(row(report, "threads / event loops").limit()).isEqualTo("4 event loop(s) on 4 core(s)");
    }

    // --- admission.max-connections against the host

    @Test
    void maxConnectionsAboveWhatTheHostAllowsIsBelow() throws ConfigProblems {
        Doctor.Report report = Doctor.report(config(ONE_BACKEND + "admission.max-connections = 20000\n"),
                host(20_000, DEFAULT_PORTS, 64 * GIB, null));

        assertThat(report.belowMaxConnections()).isTrue();
        assertThat(report.maxConnections()).isEqualTo(20_000);
        assertThat(report.binding().resource()).isEqualTo("file descriptors");
        assertThat(row(report, "max-connections").connections()).isEqualTo(20_000);
        assertThat(row(report, "max-connections").raise()).isEqualTo("admission.max-connections");
    }

    @Test
    void maxConnectionsBelowWhatTheHostAllowsBindsItself() throws ConfigProblems {
        Doctor.Report report = Doctor.report(config(ONE_BACKEND + "admission.max-connections = 5000\n"),
                host(20_000, DEFAULT_PORTS, 64 * GIB, null));

        assertThat(report.belowMaxConnections()).isFalse();
        assertThat(report.binding().resource()).isEqualTo("max-connections (config)");
        assertThat(report.binding().connections()).isEqualTo(5_000);
        assertThat(report.binding().limit()).isEqualTo("5000");
    }

    @Test
    void maxConnectionsEqualToTheHostLimitIsNotBelowAndTheHostRowBinds() throws ConfigProblems {
        Doctor.Report report = Doctor.report(config(ONE_BACKEND + "admission.max-connections = 9868\n"),
                host(20_000, DEFAULT_PORTS, 64 * GIB, null));

        assertThat(report.belowMaxConnections()).isFalse();
        assertThat(report.binding().resource()).isEqualTo("file descriptors");
    }

    // --- text and JSON

    @Test
    void textMarksTheBindingRowAndEndsWithBindsFirst() throws ConfigProblems {
        Doctor.Report report = Doctor.report(config(ONE_BACKEND), host(20_000, DEFAULT_PORTS, 64 * GIB, null));

        String text = Doctor.text(report);

        List<String> marked = text.lines().filter(line -> line.startsWith("* ")).toList();
        assertThat(marked).hasSize(1);
        assertThat(marked.get(0)).startsWith("* file descriptors ").contains(" 9,868  RLIMIT_NOFILE 20000");
        assertThat(text).contains("\n  ephemeral ports (upstream four-tuples) ", "\n  memory ",
                "\n  kernel TCP memory ", "when hit: ", "raise with: ");
        assertThat(text).endsWith("binds first: file descriptors, about 9,868 proxied connections; raise with "
                + "LimitNOFILE= in the systemd unit (at most fs.nr_open), fs.file-max\n");
        assertThat(text).doesNotContain("PROBLEM");
    }

    @Test
    void textNamesTheProblemWhenBelowMaxConnections() throws ConfigProblems {
        Doctor.Report report = Doctor.report(config(ONE_BACKEND + "admission.max-connections = 20000\n"),
                host(20_000, DEFAULT_PORTS, 64 * GIB, null));

        String text = Doctor.text(report);

        assertThat(text).contains("binds first: file descriptors, about 9,868 proxied connections");
        assertThat(text).endsWith(
                "PROBLEM: a host limit allows fewer connections than admission.max-connections (20000)\n");
        assertThat(text.lines().filter(line -> line.startsWith("  max-connections (config)"))).hasSize(1);
    }

    @Test
    void textMarksTheMaxConnectionsRowWhenItBinds() throws ConfigProblems {
        Doctor.Report report = Doctor.report(config(ONE_BACKEND + "admission.max-connections = 5000\n"),
                host(20_000, DEFAULT_PORTS, 64 * GIB, null));

        String text = Doctor.text(report);

        assertThat(text.lines().filter(line -> line.startsWith("* "))).singleElement(STRING).startsWith("* max-connections (config) ");
        assertThat(text).endsWith("binds first: max-connections (config), about 5,000 proxied connections; "
                + "raise with admission.max-connections\n");
    }

    @Test
    @SuppressWarnings("unchecked")
    void jsonHasResourcesBindingConnectionsBelowAndTheMeasurement() throws ConfigProblems {
        Doctor.Report report = Doctor.report(config(ONE_BACKEND), host(1_000_000, HUNDRED_PORTS, 64 * GIB, null));

        Map<String, Object> json = Doctor.json(report);

        assertThat(json).containsOnlyKeys("resources", "binding", "connections", "belowMaxConnections",
                "memoryPerConnectionSource");
        assertThat(json).containsEntry("binding", "ephemeral ports (upstream four-tuples)")
                .containsEntry("connections", 100L)
                .containsEntry("belowMaxConnections", false)
                .containsEntry("memoryPerConnectionSource", "benchmarks/results/compare-2026-12-01.md");
        List<Map<String, Object>> resources = (List<Map<String, Object>>) json.get("resources");
        assertThat(resources).hasSize(report.rows().size());
        assertThat(resources).allSatisfy(r -> assertThat(r).containsOnlyKeys("resource", "limit", "connections",
                "whenHit", "raise", "binding"));
        assertThat(resources).filteredOn(r -> Boolean.TRUE.equals(r.get("binding")))
                .extracting(r -> r.get("resource")).containsExactly("ephemeral ports (upstream four-tuples)");
        assertThat(resources).filteredOn(r -> r.get("resource").equals("CPU"))
                .extracting(r -> r.get("connections")).containsExactly((Object) null);
        assertThat(resources).filteredOn(r -> r.get("resource").equals("file descriptors"))
                .extracting(r -> r.get("connections")).containsExactly((1_000_000L - 64 - 10_000) / 2);
    }

    @Test
    void jsonSaysBelowMaxConnections() throws ConfigProblems {
        Doctor.Report report = Doctor.report(config(ONE_BACKEND + "admission.max-connections = 20000\n"),
                host(20_000, DEFAULT_PORTS, 64 * GIB, null));

        Map<String, Object> json = Doctor.json(report);

        assertThat(json).containsEntry("belowMaxConnections", true)
                .containsEntry("binding", "file descriptors")
                .containsEntry("connections", 9_868L);
    }
}
