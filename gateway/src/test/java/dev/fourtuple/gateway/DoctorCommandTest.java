package dev.fourtuple.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fourtuple.gateway.host.FileDescriptors;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fourtuple doctor} as a user runs it: a child JVM pointed at a fixture host ({@code --proc-root},
 * {@code --cgroup-root}) or at this machine, its exit code and what it prints.
 */
class DoctorCommandTest {
    private static final String PORTS = "ephemeral ports (upstream four-tuples)";
    /** One cluster, one backend, no source addresses: P four-tuples. */
    private static final String CONFIG = """
            listen = "127.0.0.1:8080"
            clusters { c { backends = ["10.0.1.10:8000"] } }
            routes = [ { cluster = c } ]
            """;

    @TempDir
    Path dir;
    private Path proc;
    private Path cgroup;

    /**
     * A host with RLIMIT_NOFILE 1,000,000, 16 GB of RAM, tcp_mem too large to bind, and 100 ephemeral ports
     * (40000-40099): the ports bind first, at 100 connections per backend.
     */
    @BeforeEach
    void fixtureHost() throws IOException {
        proc = Files.createDirectories(dir.resolve("proc"));
        cgroup = Files.createDirectories(dir.resolve("cgroup"));
        write(proc, "self/limits", """
                Limit                     Soft Limit           Hard Limit           Units    \s
                Max open files            1000000              1000000              files    \s
                """);
        write(proc, "sys/fs/nr_open", "1048576\n");
        write(proc, "sys/fs/file-nr", "1024\t0\t9223372036854775807\n");
        write(proc, "sys/net/ipv4/ip_local_port_range", "40000\t40099\n");
        write(proc, "sys/net/ipv4/ip_local_reserved_ports", "\n");
        write(proc, "sys/net/core/somaxconn", "4096\n");
        write(proc, "net/sockstat", "sockets: used 9\nTCP: inuse 1 orphan 0 tw 0 alloc 1 mem 3\n");
        write(proc, "sys/net/ipv4/tcp_mem", "100000000\t200000000\t300000000\n");
        write(proc, "meminfo", "MemTotal:       16384000 kB\nMemFree:        15000000 kB\n");
        write(proc, "self/cgroup", "0::/\n");
    }

    @Test
    @Timeout(60)
    void fixtureHostExitsZeroAndNamesTheBindingResource() throws Exception {
        Path config = write(dir, "gateway.conf", CONFIG);

        Result result = doctor(config, "--proc-root", proc.toString(), "--cgroup-root", cgroup.toString());

        assertThat(result.exit()).as(result.toString()).isZero();
        assertThat(result.out()).contains("* " + PORTS + " ",
                "1 {source IP, backend} pair(s) x 100 ports (ip_local_port_range 40000-40099)",
                "RLIMIT_NOFILE 1000000 (fs.nr_open 1048576",
                "binds first: " + PORTS + ", about 100 proxied connections");
        assertThat(result.out()).doesNotContain("PROBLEM");
        assertThat(result.err()).isEmpty();
    }

    @Test
    @Timeout(60)
    void jsonNamesTheBindingResource() throws Exception {
        Path config = write(dir, "gateway.conf", CONFIG.replace("\"10.0.1.10:8000\"",
                "\"10.0.1.10:8000\", \"10.0.1.11:8000\"") + "upstream.source-addresses = [\"10.0.0.2-10.0.0.5\"]\n");

        Result result = doctor(config, "--json", "--proc-root", proc.toString(), "--cgroup-root", cgroup.toString());

        assertThat(result.exit()).as(result.toString()).isZero();
        JsonNode json = new ObjectMapper().readTree(result.out());
        assertThat(json.get("binding").asText()).isEqualTo(PORTS);
        assertThat(json.get("connections").asLong()).as("4 sources x 2 backends x 100 ports").isEqualTo(800);
        assertThat(json.get("belowMaxConnections").asBoolean()).isFalse();
        assertThat(json.get("memoryPerConnectionSource").asText()).isEqualTo("benchmarks/results/compare-2026-12-01.md");
        assertThat(json.get("resources").isArray()).isTrue();
        List<String> binding = new ArrayList<>();
        json.get("resources").forEach(row -> {
            if (row.get("binding").asBoolean()) {
                binding.add(row.get("resource").asText());
            }
        });
        assertThat(binding).containsExactly(PORTS);
    }

    @Test
    @Timeout(60)
    void aCgroupMemoryMaxOnTheFixtureHostBindsMemory() throws Exception {
        write(proc, "sys/net/ipv4/ip_local_port_range", "1024\t65535\n");
        write(proc, "self/cgroup", "0::/system.slice/fourtuple.service\n");
        write(cgroup, "system.slice/fourtuple.service/memory.current", "104857600\n");
        write(cgroup, "system.slice/fourtuple.service/memory.max", "536870912\n");
        Path config = write(dir, "gateway.conf", CONFIG);

        Result result = doctor(config, "--json", "--proc-root", proc.toString(), "--cgroup-root", cgroup.toString());

        assertThat(result.exit()).as(result.toString()).isZero();
        JsonNode json = new ObjectMapper().readTree(result.out());
        assertThat(json.get("binding").asText()).isEqualTo("memory");
        assertThat(json.get("connections").asLong()).as("(512 MiB - 256 MiB) / 11,300 bytes").isEqualTo(23_755);
    }

    @Test
    @Timeout(60)
    void maxConnectionsAboveWhatTheFixtureHostAllowsExitsOne() throws Exception {
        Path config = write(dir, "gateway.conf", CONFIG + "admission.max-connections = 5000\n");

        Result result = doctor(config, "--proc-root", proc.toString(), "--cgroup-root", cgroup.toString());

        assertThat(result.exit()).as(result.toString()).isEqualTo(1);
        assertThat(result.out()).contains("binds first: " + PORTS + ", about 100 proxied connections",
                "PROBLEM: a host limit allows fewer connections than admission.max-connections (5000)");
    }

    @Test
    @Timeout(60)
    void maxConnectionsWithinWhatTheFixtureHostAllowsExitsZero() throws Exception {
        Path config = write(dir, "gateway.conf", CONFIG + "admission.max-connections = 50\n");

        Result result = doctor(config, "--json", "--proc-root", proc.toString(), "--cgroup-root", cgroup.toString());

        assertThat(result.exit()).as(result.toString()).isZero();
        JsonNode json = new ObjectMapper().readTree(result.out());
        assertThat(json.get("binding").asText()).isEqualTo("max-connections (config)");
        assertThat(json.get("belowMaxConnections").asBoolean()).isFalse();
    }

    @Test
    @Timeout(60)
    void badConfigExitsTwoWithoutReadingTheHost() throws Exception {
        Path config = write(dir, "gateway.conf", CONFIG + "backlog = 0\n");

        Result result = doctor(config, "--proc-root", proc.toString(), "--cgroup-root", cgroup.toString());

        assertThat(result.exit()).as(result.toString()).isEqualTo(2);
        assertThat(result.err()).contains(config + ":4: backlog: 0 (expected: 1..65535)",
                config + ": 1 problem(s); nothing was started");
        assertThat(result.out()).doesNotContain("binds first");
    }

    @Test
    @Timeout(60)
    void aProcRootWithoutTheLimitsFileExitsOneSayingWhatItCouldNotRead() throws Exception {
        Files.delete(proc.resolve("self/limits"));
        Path config = write(dir, "gateway.conf", CONFIG);

        Result result = doctor(config, "--proc-root", proc.toString(), "--cgroup-root", cgroup.toString());

        assertThat(result.exit()).as(result.toString()).isEqualTo(1);
        assertThat(result.err()).contains("doctor: cannot read this host's limits under " + proc);
        assertThat(result.out()).isEmpty();
    }

    @Test
    @Timeout(60)
    void thisMachineBindsOnFileDescriptorsAtItsRlimit() throws Exception {
        // This JVM's limit after HotSpot raised the soft limit to the hard one; the child JVM does the same.
        long rlimit = FileDescriptors.openFilesLimit(Path.of("/proc"));
        // Ten backends keep the ports far from binding whatever this host's ephemeral range is.
        StringBuilder backends = new StringBuilder();
        for (int i = 10; i < 20; i++) {
            backends.append(backends.isEmpty() ? "" : ", ").append("\"10.0.1.").append(i).append(":8000\"");
        }
        Path config = write(dir, "gateway.conf", CONFIG.replace("\"10.0.1.10:8000\"", backends));

        Result result = doctor(config);

        assertThat(result.exit()).as(result.toString()).isZero();
        List<String> marked = result.out().lines().filter(line -> line.startsWith("* ")).toList();
        assertThat(marked).singleElement().asString().startsWith("* file descriptors ")
                .contains("RLIMIT_NOFILE " + rlimit + " ");
        // (limit - 64 baseline fds - auto reserve max(64, 1%)) / 2 fds per proxied connection
        long connections = (rlimit - 64 - Math.max(64, rlimit / 100)) / 2;
        assertThat(result.out()).contains(String.format(Locale.ROOT,
                "binds first: file descriptors, about %,d proxied connections", connections));
        assertThat(result.err()).isEmpty();
    }

    @Test
    @Timeout(60)
    void aMistypedJsonFlagExitsTwoNamingItInsteadOfPrintingText() throws Exception {
        Path config = write(dir, "gateway.conf", CONFIG);

        Result result = doctor(config, "--jsn", "--proc-root", proc.toString(), "--cgroup-root", cgroup.toString());

        assertThat(result.exit()).as(result.toString()).isEqualTo(2);
        assertThat(result.err()).startsWith("doctor: unknown flag: --jsn (expected: --config FILE, --json, "
                + "--proc-root DIR, --cgroup-root DIR, --help)\n");
        assertThat(result.out()).as("neither the text report nor JSON").isEmpty();
    }

    private static Path write(Path root, String relative, String text) throws IOException {
        Path file = root.resolve(relative);
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
        return file;
    }

    private Result doctor(Path config, String... options) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "doctor", "--config", config.toString()));
        command.addAll(List.of(options));
        // Files, not pipes: a child that fills a pipe nobody reads yet would block.
        File out = dir.resolve("stdout.txt").toFile();
        File err = dir.resolve("stderr.txt").toFile();
        Process process = new ProcessBuilder(command).redirectOutput(out).redirectError(err).start();
        try {
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("exited within 30 s: %s", command).isTrue();
        } finally {
            process.destroyForcibly();
        }
        return new Result(process.exitValue(), Files.readString(out.toPath()), Files.readString(err.toPath()));
    }

    private record Result(int exit, String out, String err) {
    }
}
