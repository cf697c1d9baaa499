package dev.fourtuple.gateway.admission;

import dev.fourtuple.gateway.config.AdmissionSettings;
import dev.fourtuple.gateway.config.ConfigLoader;
import dev.fourtuple.gateway.config.ConfigProblems;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A fake {@code /proc} and {@code /sys/fs/cgroup} for an {@link AdmissionController}: {@code self/limits},
 * {@code self/fd/}, {@code sys/fs/file-nr}, {@code net/sockstat}, {@code sys/net/ipv4/tcp_mem},
 * {@code self/cgroup} ("0::/") and an empty cgroup root. Every figure starts far from any limit.
 */
final class ProcFixture {
    /** The settings tests build on: heap and direct memory (this JVM's own) cannot trigger, no refresher run. */
    private static final String ISOLATED = """
            heap-high = 100%
            heap-low = 99%
            direct-high = 100%
            direct-low = 99%
            refresh-interval = 1m
            """;

    final Path proc;
    final Path cgroup;

    private ProcFixture(Path proc, Path cgroup) {
        this.proc = proc;
        this.cgroup = cgroup;
    }

    /**
     * @param openFilesLimit the soft "Max open files"
     * @param fdEntries      entries in self/fd (the controller counts one fewer: the listing's own fd)
     */
    static ProcFixture create(Path dir, long openFilesLimit, int fdEntries) {
        try {
            ProcFixture fixture = new ProcFixture(Files.createDirectories(dir.resolve("proc")),
                    Files.createDirectories(dir.resolve("cgroup")));
            fixture.write("self/limits", """
                    Limit                     Soft Limit           Hard Limit           Units
                    Max cpu time              unlimited            unlimited            seconds
                    Max open files            %d                  4096                 files
                    Max locked memory         8388608              8388608              bytes
                    """.formatted(openFilesLimit));
            fixture.openFds(fdEntries);
            fixture.fileNr(340, 2466177);
            fixture.write("self/cgroup", "0::/\n");
            fixture.tcpMem(500, 1000, 1500);
            fixture.tcpPages(100);
            return fixture;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Admission settings: the reference defaults, {@link #ISOLATED}, then {@code keys} (HOCON lines). */
    static AdmissionSettings settings(String keys) {
        String hocon = "admission {\n" + ISOLATED + keys + "\n}\n"
                + "clusters { c { backends = [\"127.0.0.1:1\"] } }\n"
                + "routes = [ { cluster = c } ]\n";
        try {
            return ConfigLoader.parse(hocon, "t").admission();
        } catch (ConfigProblems e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    /** Replaces self/fd with {@code entries} entries named 0.. */
    void openFds(int entries) throws IOException {
        Path fd = proc.resolve("self/fd");
        if (Files.isDirectory(fd)) {
            try (var existing = Files.list(fd)) {
                for (Path entry : existing.toList()) {
                    Files.delete(entry);
                }
            }
        }
        Files.createDirectories(fd);
        for (int i = 0; i < entries; i++) {
            Files.createFile(fd.resolve(Integer.toString(i)));
        }
    }

    void fileNr(long allocated, long max) throws IOException {
        write("sys/fs/file-nr", allocated + "\t0\t" + max + "\n");
    }

    /** net.ipv4.tcp_mem "low pressure high", in pages. */
    void tcpMem(long low, long pressure, long high) throws IOException {
        write("sys/net/ipv4/tcp_mem", low + "\t" + pressure + "\t" + high + "\n");
    }

    /** The "TCP: ... mem N" of net/sockstat. */
    void tcpPages(long pages) throws IOException {
        write("net/sockstat", "sockets: used 9\nTCP: inuse 1 orphan 0 tw 0 alloc 1 mem " + pages
                + "\nUDP: inuse 0 mem 0\n");
    }

    /** A cgroup v2 membership with a memory limit. */
    void cgroupV2(long current, long max) throws IOException {
        write("self/cgroup", "0::/system.slice/fourtuple.service\n");
        Path dir = Files.createDirectories(cgroup.resolve("system.slice/fourtuple.service"));
        Files.writeString(dir.resolve("memory.current"), current + "\n");
        Files.writeString(dir.resolve("memory.max"), max + "\n");
    }

    private void write(String relative, String content) throws IOException {
        Path file = proc.resolve(relative);
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
    }
}
