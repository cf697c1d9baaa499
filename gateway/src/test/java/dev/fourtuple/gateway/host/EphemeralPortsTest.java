package dev.fourtuple.gateway.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fourtuple.gateway.config.PortRange;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.BitSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EphemeralPortsTest {
    /** Linux's default net.ipv4.ip_local_port_range, as the kernel prints it. */
    private static final String DEFAULT_RANGE = "32768\t60999\n";
    private static final int DEFAULT_SIZE = 60999 - 32768 + 1;

    @TempDir
    Path proc;

    private void write(String rangeText, String reservedText) throws IOException {
        Path ipv4 = Files.createDirectories(proc.resolve("sys/net/ipv4"));
        Files.writeString(ipv4.resolve("ip_local_port_range"), rangeText);
        if (reservedText != null) {
            Files.writeString(ipv4.resolve("ip_local_reserved_ports"), reservedText);
        }
    }

    @Test
    void readsTheRangeAndTheReservedPorts() throws IOException {
        write(DEFAULT_RANGE, "40000-40009,50000\n");

        EphemeralPorts ports = EphemeralPorts.read(proc);

        assertThat(ports.range()).isEqualTo(new PortRange(32768, 60999));
        assertThat(ports.reserved().cardinality()).isEqualTo(11);
        assertThat(ports.reserved().get(39999)).isFalse();
        assertThat(ports.reserved().get(40000)).isTrue();
        assertThat(ports.reserved().get(40009)).isTrue();
        assertThat(ports.reserved().get(40010)).isFalse();
        assertThat(ports.reserved().get(50000)).isTrue();
    }

    @Test
    void defaultRangeWithoutReservedPortsHas28232() throws IOException {
        write(DEFAULT_RANGE, "\n");

        EphemeralPorts ports = EphemeralPorts.read(proc);

        assertThat(ports.reserved().isEmpty()).isTrue();
        assertThat(ports.capacity(null)).isEqualTo(28_232).isEqualTo(DEFAULT_SIZE);
    }

    @Test
    void emptyReservedFileMeansNone() throws IOException {
        write(DEFAULT_RANGE, "");

        assertThat(EphemeralPorts.read(proc).capacity(null)).isEqualTo(28_232);
    }

    @Test
    void missingReservedFileMeansNone() throws IOException {
        write(DEFAULT_RANGE, null);

        EphemeralPorts ports = EphemeralPorts.read(proc);

        assertThat(ports.reserved().isEmpty()).isTrue();
        assertThat(ports.capacity(null)).isEqualTo(28_232);
    }

    @Test
    void missingRangeFileIsAnError() {
        assertThatThrownBy(() -> EphemeralPorts.read(proc)).isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void reservedPortsInsideTheRangeAreNotCapacity() throws IOException {
        write(DEFAULT_RANGE, "40000-40009,50000\n");

        assertThat(EphemeralPorts.read(proc).capacity(null)).isEqualTo(28_232 - 11);
    }

    @Test
    void reservedPortsOutsideTheRangeCostNothing() throws IOException {
        write(DEFAULT_RANGE, "1000-1999,8080,32767,61000-61010\n");

        assertThat(EphemeralPorts.read(proc).capacity(null)).isEqualTo(28_232);
    }

    @Test
    void reservedRangeStraddlingAnEdgeCountsOnlyItsInsidePart() throws IOException {
        write(DEFAULT_RANGE, "32760-32769,60990-61010\n");

        // 32768, 32769 at the low end; 60990..60999 at the high end.
        assertThat(EphemeralPorts.read(proc).capacity(null)).isEqualTo(28_232 - 2 - 10);
    }

    @Test
    void rangeWithSpacesAndNoTrailingNewline() throws IOException {
        write("  1024   1033", "1030");

        EphemeralPorts ports = EphemeralPorts.read(proc);

        assertThat(ports.range()).isEqualTo(new PortRange(1024, 1033));
        assertThat(ports.capacity(null)).isEqualTo(9);
    }

    @ParameterizedTest(name = "per socket {0}-{1}: {2}")
    @CsvSource({
            // narrower, fully inside: its 10000 ports minus the 10 reserved inside it (50000 is not)
            "40000, 49999, 9990",
            // narrower, holding none of the reserved ports
            "41000, 41999, 1000",
            // overlaps the low edge: 32768..33000
            "30000, 33000, 233",
            // overlaps the high edge: 50000..60999, 50000 reserved
            "50000, 65535, 10999",
            // wider than the system range on both sides: clamped to it
            "1024, 65535, 28221",
            // one port, reserved
            "50000, 50000, 0",
            // one port, free
            "50001, 50001, 1",
    })
    void perSocketRangeOnlyNarrowsTheSystemRange(int low, int high, int expected) throws IOException {
        write(DEFAULT_RANGE, "40000-40009,50000\n");

        assertThat(EphemeralPorts.read(proc).capacity(new PortRange(low, high))).isEqualTo(expected);
    }

    @ParameterizedTest(name = "per socket {0}-{1}")
    @CsvSource({"1024, 32767", "1024, 2047", "61000, 65535"})
    void perSocketRangeOutsideTheSystemRangeIsIgnoredLikeTheKernelDoes(int low, int high) throws IOException {
        // Linux applies each bound of IP_LOCAL_PORT_RANGE only when it lies inside ip_local_port_range
        // (inet_sk_get_local_port_range, net/ipv4/inet_connection_sock.c): a range wholly outside it leaves
        // the system range in force, so a tuple can still take all of its ports, not none.
        // UpstreamSocketOptionsTest shows the kernel doing so.
        write(DEFAULT_RANGE, "40000-40009,50000\n");
        EphemeralPorts ports = EphemeralPorts.read(proc);

        assertThat(ports.capacity(new PortRange(low, high))).isEqualTo(ports.capacity(null)).isEqualTo(28_221);
    }

    @Test
    void parseReservedAcceptsSpacesAndSinglePorts() {
        BitSet reserved = EphemeralPorts.parseReserved(" 10 - 12 , 20,,65535 ");

        BitSet expected = new BitSet();
        expected.set(10, 13);
        expected.set(20);
        expected.set(65535);
        assertThat(reserved).isEqualTo(expected);
        assertThat(EphemeralPorts.parseReserved("").isEmpty()).isTrue();
    }

    @Test
    void thisHostsRangeIsSane() throws IOException {
        EphemeralPorts ports = EphemeralPorts.read();

        assertThat(ports.range().low()).isBetween(1, 65535);
        assertThat(ports.range().high()).isBetween(ports.range().low(), 65535);
        assertThat(ports.capacity(null)).isPositive().isLessThanOrEqualTo(ports.range().size());
        assertThat(ports.capacity(new PortRange(1, 65535))).isEqualTo(ports.capacity(null));
    }

    @Test
    void readsWhatTheKernelPrintsNotJustItsFirstByte() throws IOException {
        // ProcFiles exists because Files.readString on a sysctl file returns "3" for "32768\t60999".
        String raw = ProcFiles.read(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim();

        EphemeralPorts ports = EphemeralPorts.read();

        assertThat(raw).matches("\\d+\\s+\\d+");
        assertThat(ports.range().toString()).isEqualTo(raw.replaceAll("\\s+", "-"));
    }
}
