package dev.fourtuple.gateway.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link FileDescriptors} on fixture texts, a fixture {@code /proc} root, and this host's real {@code /proc}. */
class FileDescriptorsTest {
    /** The layout of {@code /proc/PID/limits} (fixed-width columns, trailing spaces), soft 400, hard 4096. */
    private static final String LIMITS = """
            Limit                     Soft Limit           Hard Limit           Units    \s
            Max cpu time              unlimited            unlimited            seconds  \s
            Max file size             unlimited            unlimited            bytes    \s
            Max stack size            8388608              unlimited            bytes    \s
            Max processes             127914               127914               processes\s
            Max open files            400                  4096                 files    \s
            Max locked memory         8388608              8388608              bytes    \s
            Max msgqueue size         819200               819200               bytes    \s
            """;

    @TempDir
    Path root;

    @Test
    void openFilesLimitIsTheSoftLimit() {
        assertThat(FileDescriptors.openFilesLimit(LIMITS)).isEqualTo(400);
    }

    @Test
    void unlimitedOpenFilesIsMinusOne() {
        String unlimited = LIMITS.replace(
                "Max open files            400                  4096     ",
                "Max open files            unlimited            unlimited");

        assertThat(unlimited).as("fixture edited").contains("Max open files            unlimited");
        assertThat(FileDescriptors.openFilesLimit(unlimited)).isEqualTo(-1);
    }

    @Test
    void limitsWithoutMaxOpenFilesAreRejected() {
        String without = LIMITS.lines().filter(line -> !line.startsWith("Max open files"))
                .reduce("", (text, line) -> text + line + "\n");

        assertThatIllegalArgumentException().isThrownBy(() -> FileDescriptors.openFilesLimit(without))
                .withMessageContaining("Max open files");
    }

    @Test
    void systemFilesAreAllocatedAndMaxOfFileNr() {
        FileDescriptors.SystemFiles files = FileDescriptors.systemFiles("340\t0\t2466177\n");

        assertThat(files.allocated()).isEqualTo(340);
        assertThat(files.max()).isEqualTo(2466177);
        assertThat(files.free()).isEqualTo(2466177 - 340);
    }

    @Test
    void openFilesLimitReadsSelfLimitsUnderTheRoot() throws IOException {
        Files.createDirectories(root.resolve("self"));
        Files.writeString(root.resolve("self/limits"), LIMITS);

        assertThat(FileDescriptors.openFilesLimit(root)).isEqualTo(400);
    }

    @Test
    void systemFilesReadsFileNrUnderTheRoot() throws IOException {
        Files.createDirectories(root.resolve("sys/fs"));
        Files.writeString(root.resolve("sys/fs/file-nr"), "1024\t0\t9000\n");

        assertThat(FileDescriptors.systemFiles(root)).isEqualTo(new FileDescriptors.SystemFiles(1024, 9000));
    }

    @Test
    void countOpenListsSelfFdLessTheListingsOwnFd() throws IOException {
        Path fd = Files.createDirectories(root.resolve("self/fd"));
        int entries = 13; // 0..12; on the real /proc one of them would be the listing's own directory fd
        for (int i = 0; i < entries; i++) {
            Files.createFile(fd.resolve(Integer.toString(i)));
        }

        assertThat(FileDescriptors.countOpen(root)).isEqualTo(entries - 1);
    }

    @Test
    void countOpenOfAnEmptyFdDirectoryIsZero() throws IOException {
        Files.createDirectories(root.resolve("self/fd"));

        assertThat(FileDescriptors.countOpen(root)).isZero();
    }

    @Test
    void countOpenOnTheRealProcMatchesAListing() throws IOException {
        Path proc = Path.of("/proc");
        int listed;
        try (var fds = Files.list(proc.resolve("self/fd"))) {
            listed = (int) fds.count() - 1; // less the listing's own fd
        }

        int counted = FileDescriptors.countOpen(proc);

        // Other threads (JUnit, GC logging) may open or close a descriptor between the two readings.
        assertThat(counted).isBetween(listed - 2, listed + 2);
    }

    @Test
    void readsThisProcessFromTheRealProc() throws IOException {
        Path proc = Path.of("/proc");

        long limit = FileDescriptors.openFilesLimit(proc);
        int open = FileDescriptors.countOpen(proc);

        assertThat(limit).isPositive();
        assertThat(open).as("at least stdin, stdout, stderr and the jars").isGreaterThanOrEqualTo(3);
        assertThat((long) open).isLessThanOrEqualTo(limit);
        assertThat(FileDescriptors.systemFiles(proc).max()).isPositive();
    }
}
