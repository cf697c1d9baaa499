package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.PortRange;
import dev.fourtuple.gateway.host.EphemeralPorts;
import dev.fourtuple.gateway.host.ProcFiles;
import dev.fourtuple.gateway.transport.TransportKind;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Checks, before anything starts (and before a reload is applied), that this host can do what the upstream
 * settings ask. Each problem is one line in the config error format: {@code key: value (expected: ...)}.
 */
public final class UpstreamPreflight {
    private static final Pattern RELEASE = Pattern.compile("^(\\d+)\\.(\\d+)");

    private UpstreamPreflight() {
    }

    /** Problems with the source IPs: each must be an address of this host (bindable). */
    public static List<String> checkSources(Collection<InetAddress> sources) {
        List<String> problems = new ArrayList<>();
        for (InetAddress source : sources) {
            // A UDP socket: binding it takes no TCP port, and fails the same way for a foreign address.
            try (DatagramSocket probe = new DatagramSocket(null)) {
                probe.bind(new InetSocketAddress(source, 0));
            } catch (IOException e) {
                problems.add("upstream.source-addresses: " + source.getHostAddress()
                        + " (expected: an address configured on this host; bind says: " + e.getMessage() + ")");
            }
        }
        return problems;
    }

    /** Problems with local-port-range: it needs a native transport and Linux 6.3 or later. */
    public static List<String> checkLocalPortRange(@Nullable PortRange range, TransportKind transport, Path procRoot) {
        if (range == null) {
            return List.of();
        }
        if (!transport.isNative()) {
            return List.of("upstream.local-port-range: " + range
                    + " (expected: off with transport nio, which cannot set IP_LOCAL_PORT_RANGE)");
        }
        String release = kernelRelease(procRoot);
        Matcher m = RELEASE.matcher(release);
        boolean supported = m.find() && (Integer.parseInt(m.group(1)) > 6
                || Integer.parseInt(m.group(1)) == 6 && Integer.parseInt(m.group(2)) >= 3);
        if (!supported) {
            return List.of("upstream.local-port-range: " + range + " (expected: off on this kernel, "
                    + release + "; IP_LOCAL_PORT_RANGE needs Linux 6.3 or later)");
        }
        try {
            PortRange system = EphemeralPorts.read(procRoot).range();
            if (system.intersect(range) == null) {
                return List.of("upstream.local-port-range: " + range + " (expected: a range overlapping "
                        + "net.ipv4.ip_local_port_range " + system + "; the kernel ignores one outside it)");
            }
        } catch (IOException | RuntimeException e) {
            // no system range to compare with (fixture roots, non-Linux): nothing to say
        }
        return List.of();
    }

    private static String kernelRelease(Path procRoot) {
        try {
            return ProcFiles.read(procRoot.resolve("sys/kernel/osrelease")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }
}
