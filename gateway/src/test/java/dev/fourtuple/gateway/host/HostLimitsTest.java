package dev.fourtuple.gateway.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fourtuple.gateway.config.PortRange;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.BitSet;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link HostLimits#read} on a fixture {@code /proc} root and a fixture cgroup root: every field comes from
 * its own file, and a value the host does not expose is -1.
 */
class HostLimitsTest {
    /** The layout of {@code /proc/PID/limits}: fixed-width columns, trailing spaces. */
    private static final String LIMITS = """
            Limit                     Soft Limit           Hard Limit           Units    \s
            Max cpu time              unlimited            unlimited            seconds  \s
            Max stack size            8388608              unlimited            bytes    \s
            Max processes             127914               127914               processes\s
            Max open files            20000                20000                files    \s
            Max locked memory         8388608              8388608              bytes    \s
            """;
    private static final String SOCKSTAT = """
            sockets: used 9
            TCP: inuse 3 orphan 0 tw 1 alloc 4 mem 226
            UDP: inuse 0 mem 7
            """;
    private static final String MEMINFO = """
            MemTotal:       16384000 kB
            MemFree:        15000000 kB
            MemAvailable:   15500000 kB
            """;
    private static final String SERVICE = "system.slice/fourtuple.service";

    @TempDir
    Path dir;
    private Path proc;
    private Path cgroup;

    @BeforeEach
    void fixtureHost() throws IOException {
        proc = Files.createDirectories(dir.resolve("proc"));
        cgroup = Files.createDirectories(dir.resolve("cgroup"));
        write(proc, "self/limits", LIMITS);
        write(proc, "sys/fs/nr_open", "1048576\n");
        write(proc, "sys/fs/file-nr", "1024\t0\t2466177\n");
        write(proc, "sys/net/ipv4/ip_local_port_range", "32768\t60999\n");
        write(proc, "sys/net/ipv4/ip_local_reserved_ports", "40000-40009,50000\n");
        write(proc, "sys/net/core/somaxconn", "4096\n");
        write(proc, "net/sockstat", SOCKSTAT);
        write(proc, "sys/net/ipv4/tcp_mem", "287901\t383868\t575802\n");
        write(proc, "meminfo", MEMINFO);
        write(proc, "self/cgroup", "0::/" + SERVICE + "\n");
    }

    private static void write(Path root, String relative, String text) throws IOException {
        Path file = root.resolve(relative);
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }

    @Test
    void readsEveryFieldFromItsFile() throws IOException {
        write(cgroup, SERVICE + "/memory.current", "104857600\n");
        write(cgroup, SERVICE + "/memory.max", "536870912\n");

        HostLimits host = HostLimits.read(proc, cgroup, 6);

        assertThat(host.openFiles()).isEqualTo(20_000);
        assertThat(host.nrOpen()).isEqualTo(1_048_576);
        assertThat(host.fileMax()).as("the third field of file-nr").isEqualTo(2_466_177);
        assertThat(host.ports().range()).isEqualTo(new PortRange(32768, 60999));
        BitSet reserved = new BitSet();
        reserved.set(40000, 40010);
        reserved.set(50000);
        assertThat(host.ports().reserved()).isEqualTo(reserved);
        assertThat(host.ports().capacity(null)).isEqualTo(28_232 - 11);
        assertThat(host.somaxconn()).isEqualTo(4096);
        assertThat(host.tcpMemory()).isEqualTo(new TcpMemory(226, 287901, 383868, 575802));
        assertThat(host.memTotal()).as("kB are KiB in meminfo").isEqualTo(16_384_000L * 1024);
        assertThat(host.cgroup()).isEqualTo(new CgroupMemory(104_857_600, 536_870_912));
        assertThat(host.cores()).isEqualTo(6);
    }

    @Test
    void withoutACgroupMemoryMaxTheCgroupIsNullAndTheRestIsRead() throws IOException {
        // The process's cgroup directory exists but has no memory files (e.g. the memory controller is off).
        Files.createDirectories(cgroup.resolve(SERVICE));

        HostLimits host = HostLimits.read(proc, cgroup, 2);

        assertThat(host.cgroup()).isNull();
        assertThat(host.openFiles()).isEqualTo(20_000);
        assertThat(host.memTotal()).isEqualTo(16_384_000L * 1024);
        assertThat(host.cores()).isEqualTo(2);
    }

    @Test
    void aCgroupMemoryMaxOfMaxIsNoLimit() throws IOException {
        write(cgroup, SERVICE + "/memory.current", "104857600\n");
        write(cgroup, SERVICE + "/memory.max", "max\n");

        assertThat(HostLimits.read(proc, cgroup, 2).cgroup()).isNull();
    }

    @Test
    void withoutSelfCgroupTheCgroupIsNull() throws IOException {
        Files.delete(proc.resolve("self/cgroup"));

        assertThat(HostLimits.read(proc, cgroup, 2).cgroup()).isNull();
    }

    @Test
    void missingSomaxconnAndNrOpenAreMinusOne() throws IOException {
        Files.delete(proc.resolve("sys/net/core/somaxconn"));
        Files.delete(proc.resolve("sys/fs/nr_open"));

        HostLimits host = HostLimits.read(proc, cgroup, 2);

        assertThat(host.somaxconn()).isEqualTo(-1);
        assertThat(host.nrOpen()).isEqualTo(-1);
        assertThat(host.openFiles()).isEqualTo(20_000);
        assertThat(host.fileMax()).isEqualTo(2_466_177);
    }

    @Test
    void meminfoWithoutMemTotalIsMinusOne() throws IOException {
        write(proc, "meminfo", "MemFree:        15000000 kB\n");

        assertThat(HostLimits.read(proc, cgroup, 2).memTotal()).isEqualTo(-1);
    }

    @Test
    void sysctlValuesWithoutTrailingNewlineOrWithSpaces() throws IOException {
        write(proc, "sys/net/core/somaxconn", "  65535");
        write(proc, "sys/fs/nr_open", "2097152");

        HostLimits host = HostLimits.read(proc, cgroup, 2);

        assertThat(host.somaxconn()).isEqualTo(65535);
        assertThat(host.nrOpen()).isEqualTo(2_097_152);
    }

    @Test
    void aMissingLimitsFileIsAnError() throws IOException {
        Files.delete(proc.resolve("self/limits"));

        assertThatThrownBy(() -> HostLimits.read(proc, cgroup, 2)).isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void readsThisHost() throws IOException {
        HostLimits host = HostLimits.read(Path.of("/proc"), Path.of("/sys/fs/cgroup"), 1);

        assertThat(host.openFiles()).isPositive();
        assertThat(host.memTotal()).isPositive();
        assertThat(host.ports().capacity(null)).isPositive();
        assertThat(host.tcpMemory().pressure()).isPositive();
    }
}
