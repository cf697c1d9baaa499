package dev.fourtuple.gateway.host;

import dev.fourtuple.gateway.config.PortRange;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import org.jspecify.annotations.Nullable;

/**
 * The ephemeral ports this host's kernel hands to outgoing connections: {@code net.ipv4.ip_local_port_range}
 * minus {@code net.ipv4.ip_local_reserved_ports}, optionally clamped by a per-socket range. Both files are per
 * network namespace. Read from a root path so tests and {@code doctor} can point it at fixture files.
 *
 * @param range    the system range
 * @param reserved ports excluded from automatic assignment
 */
public record EphemeralPorts(PortRange range, BitSet reserved) {
    private static final String RANGE_FILE = "sys/net/ipv4/ip_local_port_range";
    private static final String RESERVED_FILE = "sys/net/ipv4/ip_local_reserved_ports";

    /** Reads this host's (this namespace's) values from {@code /proc}. */
    public static EphemeralPorts read() throws IOException {
        return read(Path.of("/proc"));
    }

    /** Reads from {@code procRoot}/sys/net/ipv4/...; a missing reserved-ports file means none. */
    public static EphemeralPorts read(Path procRoot) throws IOException {
        String[] bounds = ProcFiles.read(procRoot.resolve(RANGE_FILE)).trim().split("\\s+");
        PortRange range = new PortRange(Integer.parseInt(bounds[0]), Integer.parseInt(bounds[1]));
        Path reservedFile = procRoot.resolve(RESERVED_FILE);
        String reserved = Files.exists(reservedFile) ? ProcFiles.read(reservedFile).trim() : "";
        return new EphemeralPorts(range, parseReserved(reserved));
    }

    /** "1000-1010,2000" → those ports. */
    static BitSet parseReserved(String text) {
        BitSet ports = new BitSet(65536);
        for (String part : text.split(",")) {
            String item = part.trim();
            if (item.isEmpty()) {
                continue;
            }
            int dash = item.indexOf('-');
            int low = Integer.parseInt(dash < 0 ? item : item.substring(0, dash).trim());
            int high = dash < 0 ? low : Integer.parseInt(item.substring(dash + 1).trim());
            ports.set(low, high + 1);
        }
        return ports;
    }

    /**
     * How many ports one four-tuple's source-port slot can take: the system range, clamped by
     * {@code perSocket} when set, minus reserved ports. Clamped the way the kernel does it
     * ({@code inet_sk_get_local_port_range}): each end of the per-socket range counts only if it falls inside
     * the system range, so a range entirely outside it changes nothing.
     */
    public int capacity(@Nullable PortRange perSocket) {
        int low = range.low();
        int high = range.high();
        if (perSocket != null) {
            if (perSocket.low() >= low && perSocket.low() <= high) {
                low = perSocket.low();
            }
            if (perSocket.high() >= low && perSocket.high() <= high) {
                high = perSocket.high();
            }
        }
        PortRange effective = new PortRange(low, high);
        int reservedInside = reserved.get(effective.low(), effective.high() + 1).cardinality();
        return effective.size() - reservedInside;
    }
}
