package dev.fourtuple.gateway.host;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;

/**
 * Every host limit that decides how many connections a gateway can hold, read at once from a proc root and a
 * cgroup root (the real ones, or fixtures in tests). A value the host does not expose is -1.
 *
 * @param openFiles   this process's soft RLIMIT_NOFILE
 * @param nrOpen      {@code fs.nr_open}: the most any process's RLIMIT_NOFILE can be raised to
 * @param fileMax     {@code fs.file-max}: open files for the whole system
 * @param ports       the ephemeral ports (range and reserved)
 * @param somaxconn   {@code net.core.somaxconn}: the cap on any listen backlog
 * @param tcpMemory   {@code tcp_mem} and TCP memory in use, in pages
 * @param memTotal    RAM, bytes ({@code /proc/meminfo} MemTotal)
 * @param cgroup      this process's cgroup memory limit, or null
 * @param cores       CPUs available to this process
 */
public record HostLimits(long openFiles, long nrOpen, long fileMax, EphemeralPorts ports, long somaxconn,
        TcpMemory tcpMemory, long memTotal, @Nullable CgroupMemory cgroup, int cores) {

    /** Bytes per page in tcp_mem and sockstat (4 KiB on x86-64 and most arm64 kernels). */
    public static final long PAGE = 4096;

    public static HostLimits read(Path procRoot, Path cgroupRoot, int cores) throws IOException {
        return new HostLimits(
                FileDescriptors.openFilesLimit(procRoot),
                number(procRoot.resolve("sys/fs/nr_open")),
                FileDescriptors.systemFiles(procRoot).max(),
                EphemeralPorts.read(procRoot),
                number(procRoot.resolve("sys/net/core/somaxconn")),
                TcpMemory.read(procRoot),
                memTotal(procRoot),
                CgroupMemory.read(procRoot, cgroupRoot),
                cores);
    }

    private static long number(Path file) throws IOException {
        return Files.exists(file) ? Long.parseLong(ProcFiles.read(file).trim()) : -1;
    }

    private static long memTotal(Path procRoot) throws IOException {
        for (String line : ProcFiles.read(procRoot.resolve("meminfo")).split("\n")) {
            if (line.startsWith("MemTotal:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return -1;
    }
}
