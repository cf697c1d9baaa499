package dev.fourtuple.gateway.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link TcpMemory} from the texts of {@code /proc/net/sockstat} and {@code net.ipv4.tcp_mem}. */
class TcpMemoryTest {
    private static final String SOCKSTAT = """
            sockets: used 9
            TCP: inuse 1 orphan 0 tw 0 alloc 1 mem 226
            UDP: inuse 0 mem 0
            UDPLITE: inuse 0
            RAW: inuse 0
            FRAG: inuse 0 memory 0
            """;
    private static final String TCP_MEM = "287901\t383868\t575802\n";

    @TempDir
    Path root;

    @Test
    void parsesTcpMemAgainstTheThreeThresholds() {
        TcpMemory memory = TcpMemory.parse(SOCKSTAT, TCP_MEM);

        assertThat(memory).isEqualTo(new TcpMemory(226, 287901, 383868, 575802));
        assertThat(memory.pagesInUse()).isEqualTo(226);
        assertThat(memory.pressure()).isEqualTo(383868);
        assertThat(memory.ofPressure()).isCloseTo(226.0 / 383868, within(1e-12));
    }

    @Test
    void takesTheTcpLinesMemNotAnotherProtocols() {
        String udpFirst = "sockets: used 9\nUDP: inuse 3 mem 77\nTCP: inuse 1 orphan 0 tw 0 alloc 1 mem 5\n";

        assertThat(TcpMemory.parse(udpFirst, TCP_MEM).pagesInUse()).isEqualTo(5);
    }

    @Test
    void sockstatWithoutTcpMemIsRejected() {
        String noTcpMem = "sockets: used 9\nTCP: inuse 1 orphan 0 tw 0 alloc 1\nUDP: inuse 0 mem 12\n";

        assertThatIllegalArgumentException().isThrownBy(() -> TcpMemory.parse(noTcpMem, TCP_MEM))
                .withMessageContaining("TCP");
    }

    @Test
    void sockstatWithoutTcpLineIsRejected() {
        assertThatIllegalArgumentException()
                .isThrownBy(() -> TcpMemory.parse("sockets: used 9\nUDP: inuse 0 mem 12\n", TCP_MEM));
    }

    @Test
    void ofPressureIsZeroWhenThePressureThresholdIsZero() {
        assertThat(new TcpMemory(10, 0, 0, 0).ofPressure()).isZero();
    }

    @Test
    void ofPressureReachesOneAtThePressureThreshold() {
        assertThat(new TcpMemory(383868, 287901, 383868, 575802).ofPressure()).isEqualTo(1.0);
    }

    @Test
    void readsSockstatAndTcpMemUnderTheRoot() throws IOException {
        Files.createDirectories(root.resolve("net"));
        Files.createDirectories(root.resolve("sys/net/ipv4"));
        Files.writeString(root.resolve("net/sockstat"), SOCKSTAT);
        Files.writeString(root.resolve("sys/net/ipv4/tcp_mem"), TCP_MEM);

        assertThat(TcpMemory.read(root)).isEqualTo(new TcpMemory(226, 287901, 383868, 575802));
    }
}
