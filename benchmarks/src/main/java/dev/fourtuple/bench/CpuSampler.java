package dev.fourtuple.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * Reads the CPU time of a few processes (each alone, {@link ProcessTree#cpuOf}) every few milliseconds, so that
 * what one used between two moments seen elsewhere (log lines) can be told afterwards, and so that a process's
 * last reading before it exits is kept. /proc counts in ticks of 10 ms: that is the resolution.
 */
final class CpuSampler implements AutoCloseable {
    private static final long PERIOD_MILLIS = 5;

    /** One reading: when ({@link System#nanoTime}) and the CPU seconds used so far. */
    record Sample(long nanos, ProcessTree.CpuTime cpu) {
    }

    private final Map<Long, List<Sample>> samples = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean running = true;

    CpuSampler() {
        thread = new Thread(this::run, "cpu-sampler");
        thread.setDaemon(true);
        thread.start();
    }

    /** Starts reading {@code pid} too (at once, then every few milliseconds). */
    void watch(long pid) {
        samples.computeIfAbsent(pid, p -> new ArrayList<>());
        sample(pid);
    }

    private void run() {
        while (running) {
            samples.keySet().forEach(this::sample);
            try {
                Thread.sleep(PERIOD_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void sample(long pid) {
        long now = System.nanoTime();
        ProcessTree.CpuTime cpu = ProcessTree.cpuOf(pid);
        if (cpu != null) {
            List<Sample> list = samples.get(pid);
            synchronized (list) {
                list.add(new Sample(now, cpu));
            }
        }
    }

    /** CPU seconds {@code pid} had used by {@code nanos}: the first reading at or after it, else the last one. */
    ProcessTree.@Nullable CpuTime at(long pid, long nanos) {
        List<Sample> list = samples.get(pid);
        if (list == null) {
            return null;
        }
        synchronized (list) {
            for (Sample s : list) {
                if (s.nanos() - nanos >= 0) {
                    return s.cpu();
                }
            }
            return list.isEmpty() ? null : list.get(list.size() - 1).cpu();
        }
    }

    /** The first reading of {@code pid} (null: none yet). */
    @Nullable Sample first(long pid) {
        List<Sample> list = samples.get(pid);
        if (list == null) {
            return null;
        }
        synchronized (list) {
            return list.isEmpty() ? null : list.get(0);
        }
    }

    /** The last reading of {@code pid}: for a process that has exited, what it used in all. */
    @Nullable Sample last(long pid) {
        List<Sample> list = samples.get(pid);
        if (list == null) {
            return null;
        }
        synchronized (list) {
            return list.isEmpty() ? null : list.get(list.size() - 1);
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.interrupt();
        thread.join(1000);
    }
}
