package dev.fourtuple.gateway.host;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * File descriptors: this process's RLIMIT_NOFILE ({@code /proc/self/limits}, as it is after the JVM started:
 * HotSpot raises the soft limit to the hard one), how many it has open ({@code /proc/self/fd}), and the
 * system's allocated-vs-max ({@code /proc/sys/fs/file-nr}).
 */
public final class FileDescriptors {
    private FileDescriptors() {
    }

    /** allocated and max of {@code fs.file-nr}. */
    public record SystemFiles(long allocated, long max) {
        public long free() {
            return max - allocated;
        }
    }

    /** The soft "Max open files" of a {@code /proc/PID/limits} text; -1 for "unlimited". */
    public static long openFilesLimit(String limitsText) {
        for (String line : limitsText.split("\n")) {
            if (line.startsWith("Max open files")) {
                String[] fields = line.substring("Max open files".length()).trim().split("\\s+");
                return fields[0].equals("unlimited") ? -1 : Long.parseLong(fields[0]);
            }
        }
        throw new IllegalArgumentException("no \"Max open files\" line in limits");
    }

    /** This process's soft RLIMIT_NOFILE. */
    public static long openFilesLimit(Path procRoot) throws IOException {
        return openFilesLimit(ProcFiles.read(procRoot.resolve("self/limits")));
    }

    /** {@code fs.file-nr}: "allocated unused max". */
    public static SystemFiles systemFiles(String fileNrText) {
        String[] fields = fileNrText.trim().split("\\s+");
        return new SystemFiles(Long.parseLong(fields[0]), Long.parseLong(fields[2]));
    }

    public static SystemFiles systemFiles(Path procRoot) throws IOException {
        return systemFiles(ProcFiles.read(procRoot.resolve("sys/fs/file-nr")));
    }

    /**
     * The fds this process has open. Since Linux 6.2 stat(2) of {@code /proc/self/fd} gives the count as the
     * directory's size: one syscall (FileDescriptorsTest checks it against a listing on the running kernel).
     * Elsewhere (older kernels, where the size is 0, or a fixture directory) the directory is listed, which is
     * O(open fds) and leaves a proc inode and a dentry in the kernel's slab for every fd listed: about 900
     * bytes each, 1.7 KB per proxied connection (measured with /proc/slabinfo at 16,000 fds). For a periodic
     * reconcile, never per connection.
     */
    public static int countOpen(Path procRoot) throws IOException {
        Path fdDirectory = procRoot.resolve("self/fd");
        if (Files.getFileStore(fdDirectory).type().equals("proc")) {
            long size = Files.size(fdDirectory);
            if (size > 0) {
                return (int) size;
            }
        }
        int count = 0;
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(fdDirectory)) {
            for (Path ignored : fds) {
                count++;
            }
        }
        return Math.max(0, count - 1); // the listing's own fd
    }
}
