package dev.fourtuple.gateway.admission;

import dev.fourtuple.gateway.host.CgroupMemory;
import dev.fourtuple.gateway.host.FileDescriptors;
import dev.fourtuple.gateway.host.TcpMemory;
import io.netty.util.internal.PlatformDependent;
import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;

/**
 * What admission reads from the host and the JVM, as fractions of their limits: the slow gauges (the real fd
 * count, {@code fs.file-nr}, heap after the last GC, kernel TCP memory, the cgroup), re-read by the
 * controller's refresher thread and cached here, and Netty's direct memory, cheap enough to read per accept.
 * A gauge that cannot be read counts as unused: admission then does not shed on it.
 *
 * <p>Concurrency note: written by the refresher thread only, read from every event loop; each value is a
 * volatile read on its own, and a reading one refresh old is as good as the refresh interval allows.
 */
final class HeadroomReadings {
    private final Path procRoot;
    private final Path cgroupRoot;
    private volatile boolean systemFilesShort;
    private volatile double heapUsed;
    private volatile double tcpUsed;
    private volatile double cgroupUsed;
    private volatile @Nullable CgroupMemory cgroup;

    HeadroomReadings(Path procRoot, Path cgroupRoot) {
        this.procRoot = procRoot;
        this.cgroupRoot = cgroupRoot;
    }

    /**
     * Re-reads the slow gauges; reconciles the fd budget with the real count on the way.
     *
     * @param fdReserve fds to keep free system-wide: fewer free in {@code fs.file-nr} is "short"
     */
    void refresh(@Nullable FdBudget fds, long fdReserve) {
        try {
            if (fds != null) {
                fds.reconcile(FileDescriptors.countOpen(procRoot));
            }
            systemFilesShort = FileDescriptors.systemFiles(procRoot).free() < fdReserve;
        } catch (IOException | RuntimeException e) {
            systemFilesShort = false;
        }
        heapUsed = heapAfterGc();
        try {
            tcpUsed = TcpMemory.read(procRoot).ofPressure();
        } catch (IOException | RuntimeException e) {
            tcpUsed = 0;
        }
        try {
            CgroupMemory read = CgroupMemory.read(procRoot, cgroupRoot);
            cgroup = read;
            cgroupUsed = read == null ? 0 : read.used();
        } catch (IOException | RuntimeException e) {
            cgroup = null;
            cgroupUsed = 0;
        }
    }

    /** Fewer than the reserve free in the system's file table ({@code fs.file-nr}). */
    boolean systemFilesShort() {
        return systemFilesShort;
    }

    /** Heap in use after the last GC, as a fraction of the max heap. */
    double heapUsed() {
        return heapUsed;
    }

    /** Kernel TCP memory as a fraction of {@code net.ipv4.tcp_mem}'s pressure threshold. */
    double tcpUsed() {
        return tcpUsed;
    }

    /** The cgroup's memory.current as a fraction of memory.max; 0 without a limit. */
    double cgroupUsed() {
        return cgroupUsed;
    }

    /**
     * The cgroup's use as of the last reading plus {@code pendingBytes} it cannot show yet (TLS handshakes
     * started since, charged at their peak), as a fraction of its limit; 0 without a limit.
     */
    double cgroupUsed(long pendingBytes) {
        CgroupMemory read = cgroup;
        if (read == null || pendingBytes <= 0) {
            return cgroupUsed;
        }
        return Math.min(1.0, cgroupUsed + (double) pendingBytes / read.max());
    }

    /** Heap in use after the last collection, over all heap pools that report it, as a fraction of max. */
    private static double heapAfterGc() {
        long used = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.isCollectionUsageThresholdSupported()) {
                MemoryUsage afterGc = pool.getCollectionUsage();
                if (afterGc != null) {
                    used += afterGc.getUsed();
                }
            }
        }
        long max = Runtime.getRuntime().maxMemory();
        return max <= 0 ? 0 : (double) used / max;
    }

    /** Netty's direct memory in use as a fraction of the JVM's max direct memory; cheap, read per accept. */
    static double directUsed() {
        long max = PlatformDependent.maxDirectMemory();
        long used = PlatformDependent.usedDirectMemory();
        if (used < 0) {
            used = 0;
            for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
                if (pool.getName().equals("direct")) {
                    used = pool.getMemoryUsed();
                }
            }
        }
        return max <= 0 ? 0 : (double) used / max;
    }
}
