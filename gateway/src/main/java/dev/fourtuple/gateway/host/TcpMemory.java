package dev.fourtuple.gateway.host;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The kernel's memory for TCP, in pages: in use ({@code /proc/net/sockstat}, "TCP: ... mem N", for this
 * network namespace's sockets) against {@code net.ipv4.tcp_mem} "low pressure high". Past pressure the
 * kernel shrinks socket buffers; past high it drops packets.
 *
 * @param pagesInUse TCP memory in use now
 * @param low        below it the kernel does not care
 * @param pressure   above it the kernel starts reclaiming socket memory
 * @param high       the hard limit
 */
public record TcpMemory(long pagesInUse, long low, long pressure, long high) {

    /** From the texts of {@code /proc/net/sockstat} and {@code /proc/sys/net/ipv4/tcp_mem}. */
    public static TcpMemory parse(String sockstat, String tcpMem) {
        long inUse = -1;
        for (String line : sockstat.split("\n")) {
            if (line.startsWith("TCP:")) {
                String[] fields = line.substring(4).trim().split("\\s+");
                for (int i = 0; i + 1 < fields.length; i += 2) {
                    if (fields[i].equals("mem")) {
                        inUse = Long.parseLong(fields[i + 1]);
                    }
                }
            }
        }
        if (inUse < 0) {
            throw new IllegalArgumentException("no \"TCP: ... mem N\" in sockstat");
        }
        String[] limits = tcpMem.trim().split("\\s+");
        return new TcpMemory(inUse, Long.parseLong(limits[0]), Long.parseLong(limits[1]), Long.parseLong(limits[2]));
    }

    public static TcpMemory read(Path procRoot) throws IOException {
        return parse(ProcFiles.read(procRoot.resolve("net/sockstat")),
                ProcFiles.read(procRoot.resolve("sys/net/ipv4/tcp_mem")));
    }

    /** In use as a fraction of the pressure threshold. */
    public double ofPressure() {
        return pressure <= 0 ? 0 : (double) pagesInUse / pressure;
    }
}
