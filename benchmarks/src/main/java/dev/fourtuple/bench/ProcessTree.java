package dev.fourtuple.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/**
 * A process and all its descendants, read from /proc: memory (proportional set size, so the shared pages of an
 * nginx master and its workers count once) and CPU time (all threads, user + system).
 */
public final class ProcessTree {
    /** USER_HZ: the unit of utime/stime in /proc/PID/stat; 100 on every Linux architecture we run on. */
    private static final double TICKS_PER_SECOND = 100.0;
    private static final Pattern PSS = Pattern.compile("^Pss:\\s+(\\d+) kB", Pattern.MULTILINE);

    private ProcessTree() {
    }

    /** {@code root} and its descendants that are alive now. */
    public static List<Long> pids(long root) {
        List<Long> pids = new ArrayList<>();
        pids.add(root);
        for (int i = 0; i < pids.size(); i++) {
            Path tasks = Path.of("/proc", String.valueOf(pids.get(i)), "task");
            try (Stream<Path> threads = Files.list(tasks)) {
                for (Path thread : threads.toList()) {
                    String children = read(thread.resolve("children")).trim();
                    if (!children.isEmpty()) {
                        for (String child : children.split("\\s+")) {
                            pids.add(Long.parseLong(child));
                        }
                    }
                }
            } catch (IOException | RuntimeException e) {
                // the process ended while we looked: it holds nothing any more
            }
        }
        return pids;
    }

    /** Proportional set size of the whole tree, in bytes. */
    public static long pssBytes(long root) {
        long total = 0;
        for (long pid : pids(root)) {
            Matcher m = PSS.matcher(read(Path.of("/proc", String.valueOf(pid), "smaps_rollup")));
            if (m.find()) {
                total += Long.parseLong(m.group(1)) * 1024;
            }
        }
        return total;
    }

    /** CPU seconds, in user space and in the kernel. */
    public record CpuTime(double user, double system) {
        public double total() {
            return user + system;
        }

        public CpuTime minus(CpuTime before) {
            return new CpuTime(user - before.user, system - before.system);
        }
    }

    /** CPU time (all threads) the whole tree has used so far. */
    public static CpuTime cpu(long root) {
        CpuTime total = new CpuTime(0, 0);
        for (long pid : pids(root)) {
            CpuTime one = cpuOf(pid);
            if (one != null) {
                total = new CpuTime(total.user + one.user, total.system + one.system);
            }
        }
        return total;
    }

    /**
     * CPU time (all threads) of one process alone, its children not counted (a gateway's successor is its
     * child); null once it has ended.
     */
    public static @Nullable CpuTime cpuOf(long pid) {
        String stat = read(Path.of("/proc", String.valueOf(pid), "stat"));
        int end = stat.lastIndexOf(')');
        if (end < 0) {
            return null;
        }
        // Fields after "(comm)": state is field 3, utime 14, stime 15.
        String[] fields = stat.substring(end + 2).split(" ");
        return new CpuTime(Long.parseLong(fields[11]) / TICKS_PER_SECOND, Long.parseLong(fields[12]) / TICKS_PER_SECOND);
    }

    /**
     * /proc files are read with a plain stream: their size is reported as 0 (or 4096), so
     * {@code Files.readString}'s size-based read is not safe on them.
     */
    private static String read(Path file) {
        try (var in = Files.newInputStream(file)) {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
        } catch (IOException e) {
            return "";
        }
    }
}
