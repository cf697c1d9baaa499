package dev.fourtuple.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Machine-wide kernel memory that sockets use: TCP buffer pages ({@code /proc/net/sockstat}) and slab
 * ({@code /proc/meminfo}: socket structs, files, epoll items). Deltas over an interval are approximate, since
 * anything else on the machine moves them too.
 *
 * @param tcpBufferBytes TCP socket buffer memory ("TCP: ... mem N", pages)
 * @param slabBytes      kernel slab memory
 */
public record KernelMemory(long tcpBufferBytes, long slabBytes) {
    private static final Pattern TCP_MEM = Pattern.compile("TCP:.* mem (\\d+)");
    private static final Pattern SLAB = Pattern.compile("^Slab:\\s+(\\d+) kB", Pattern.MULTILINE);
    private static final long PAGE = 4096;

    public static KernelMemory now() throws IOException {
        Matcher tcp = TCP_MEM.matcher(Files.readAllLines(Path.of("/proc/net/sockstat")).toString());
        Matcher slab = SLAB.matcher(String.join("\n", Files.readAllLines(Path.of("/proc/meminfo"))));
        return new KernelMemory(tcp.find() ? Long.parseLong(tcp.group(1)) * PAGE : 0,
                slab.find() ? Long.parseLong(slab.group(1)) * 1024 : 0);
    }

    public KernelMemory minus(KernelMemory before) {
        return new KernelMemory(tcpBufferBytes - before.tcpBufferBytes, slabBytes - before.slabBytes);
    }
}
