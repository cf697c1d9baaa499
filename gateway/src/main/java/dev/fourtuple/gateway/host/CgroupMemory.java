package dev.fourtuple.gateway.host;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;

/**
 * The memory limit of this process's cgroup, when there is one: cgroup v2 {@code memory.current} against
 * {@code memory.max} (what systemd's {@code MemoryMax=} sets), or cgroup v1 {@code memory.usage_in_bytes}
 * against {@code memory.limit_in_bytes}.
 *
 * @param current bytes in use by the cgroup
 * @param max     its limit
 */
public record CgroupMemory(long current, long max) {
    /** v1 reports "no limit" as a huge number (a page-rounded Long.MAX_VALUE). */
    private static final long NO_LIMIT = 1L << 60;

    /**
     * The limit of the cgroup named in {@code procRoot/self/cgroup}, looked up under {@code cgroupRoot}
     * (normally /sys/fs/cgroup); null when there is no memory limit or no cgroup to read.
     */
    public static @Nullable CgroupMemory read(Path procRoot, Path cgroupRoot) throws IOException {
        Path self = procRoot.resolve("self/cgroup");
        if (!Files.exists(self)) {
            return null; // no cgroups here
        }
        String membership = ProcFiles.read(self);
        for (String line : membership.split("\n")) {
            String[] fields = line.split(":", 3);
            if (fields.length == 3 && fields[0].equals("0") && fields[1].isEmpty()) {
                CgroupMemory v2 = limit(cgroupRoot.resolve(relative(fields[2])), "memory.current", "memory.max");
                if (v2 != null) {
                    return v2;
                }
            }
            if (fields.length == 3 && fields[1].equals("memory")) {
                Path dir = cgroupRoot.resolve("memory").resolve(relative(fields[2]));
                if (!Files.isDirectory(dir)) {
                    dir = cgroupRoot.resolve("memory"); // a container that sees its own cgroup as the root
                }
                CgroupMemory v1 = limit(dir, "memory.usage_in_bytes", "memory.limit_in_bytes");
                if (v1 != null) {
                    return v1;
                }
            }
        }
        return null;
    }

    private static @Nullable CgroupMemory limit(Path dir, String currentFile, String maxFile) throws IOException {
        Path current = dir.resolve(currentFile);
        Path max = dir.resolve(maxFile);
        if (!Files.isReadable(current) || !Files.isReadable(max)) {
            return null;
        }
        String maxText = ProcFiles.read(max).trim();
        if (maxText.equals("max")) {
            return null;
        }
        long limit = Long.parseLong(maxText);
        if (limit >= NO_LIMIT) {
            return null;
        }
        return new CgroupMemory(Long.parseLong(ProcFiles.read(current).trim()), limit);
    }

    private static String relative(String cgroupPath) {
        return cgroupPath.startsWith("/") ? cgroupPath.substring(1) : cgroupPath;
    }

    /** In use as a fraction of the limit. */
    public double used() {
        return (double) current / max;
    }
}
