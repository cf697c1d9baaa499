package dev.fourtuple.gateway.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fourtuple.gateway.config.PortRange;
import dev.fourtuple.gateway.transport.TransportKind;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class UpstreamPreflightTest {
    private static final PortRange RANGE = new PortRange(40000, 49999);
    /** TEST-NET-1 (RFC 5737): documentation only, configured on no real host's interface. */
    private static final String FOREIGN = "192.0.2.123";

    @TempDir
    Path proc;

    private Path osRelease(String release) throws IOException {
        Path kernel = Files.createDirectories(proc.resolve("sys/kernel"));
        Files.writeString(kernel.resolve("osrelease"), release + "\n");
        return proc;
    }

    @Test
    void loopbackAddressesAreLocal() throws IOException {
        // All of 127.0.0.0/8 is routed to lo on Linux, not just 127.0.0.1.
        assertThat(UpstreamPreflight.checkSources(List.of(
                InetAddress.getByName("127.0.0.1"), InetAddress.getByName("127.0.0.5")))).isEmpty();
    }

    @Test
    void noSourcesNoProblems() {
        assertThat(UpstreamPreflight.checkSources(List.of())).isEmpty();
    }

    @Test
    void addressNotOnThisHostIsNamed() throws IOException {
        List<String> problems = UpstreamPreflight.checkSources(List.of(
                InetAddress.getByName("127.0.0.2"), InetAddress.getByName(FOREIGN)));

        assertThat(problems).singleElement().asString()
                .startsWith("upstream.source-addresses: " + FOREIGN + " (expected: an address configured on this host")
                .endsWith(")");
    }

    @Test
    void everyForeignAddressIsOneProblemInOrder() throws IOException {
        List<String> problems = UpstreamPreflight.checkSources(List.of(
                InetAddress.getByName("192.0.2.124"), InetAddress.getByName("127.0.0.3"),
                InetAddress.getByName(FOREIGN)));

        assertThat(problems).hasSize(2);
        assertThat(problems.get(0)).startsWith("upstream.source-addresses: 192.0.2.124 (");
        assertThat(problems.get(1)).startsWith("upstream.source-addresses: " + FOREIGN + " (");
    }

    @ParameterizedTest
    @EnumSource(TransportKind.class)
    void noLocalPortRangeIsNeverAProblem(TransportKind transport) {
        assertThat(UpstreamPreflight.checkLocalPortRange(null, transport, proc)).isEmpty();
    }

    @Test
    void nioCannotSetALocalPortRange() throws IOException {
        List<String> problems = UpstreamPreflight.checkLocalPortRange(RANGE, TransportKind.NIO, osRelease("6.8.0"));

        assertThat(problems).singleElement().asString()
                .startsWith("upstream.local-port-range: 40000-49999 (expected: ")
                .contains("nio");
    }

    @Test
    void kernelBefore63IsAProblem() throws IOException {
        List<String> problems = UpstreamPreflight.checkLocalPortRange(RANGE, TransportKind.EPOLL,
                osRelease("6.2.16-foo"));

        assertThat(problems).singleElement().asString()
                .startsWith("upstream.local-port-range: 40000-49999 (expected: off on this kernel, 6.2.16-foo")
                .contains("Linux 6.3")
                .endsWith(")");
    }

    @ParameterizedTest
    @ValueSource(strings = {"5.15.0-91-generic", "4.19.0", "3.10.0-1160.el7.x86_64", "6.0.0"})
    void olderKernelsAreProblems(String release) throws IOException {
        assertThat(UpstreamPreflight.checkLocalPortRange(RANGE, TransportKind.IO_URING, osRelease(release)))
                .singleElement().asString().contains(release, "Linux 6.3");
    }

    @ParameterizedTest
    @ValueSource(strings = {"6.3.0", "6.18.44-fc", "7.0.1", "6.10.2-arch1-1", "10.1.0"})
    void kernel63AndLaterHaveIt(String release) throws IOException {
        assertThat(UpstreamPreflight.checkLocalPortRange(RANGE, TransportKind.EPOLL, osRelease(release))).isEmpty();
        assertThat(UpstreamPreflight.checkLocalPortRange(RANGE, TransportKind.IO_URING, osRelease(release)))
                .isEmpty();
    }

    @Test
    void unreadableKernelReleaseIsAProblemNotACrash() {
        // No sys/kernel/osrelease under the fixture root: the feature cannot be shown to exist.
        assertThat(UpstreamPreflight.checkLocalPortRange(RANGE, TransportKind.EPOLL, proc))
                .singleElement().asString().contains("unknown", "Linux 6.3");
    }
}
