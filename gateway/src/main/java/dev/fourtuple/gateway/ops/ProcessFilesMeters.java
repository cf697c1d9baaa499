package dev.fourtuple.gateway.ops;

import dev.fourtuple.gateway.host.FileDescriptors;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.io.IOException;
import java.nio.file.Path;

/**
 * {@code process.files.open} and {@code process.files.max}, the names Micrometer's own
 * {@code FileDescriptorMetrics} uses, read the cheap way. The JDK's {@code getOpenFileDescriptorCount()}, which
 * that binder calls, lists {@code /proc/self/fd} on Linux, and every scrape then leaves a proc inode and a
 * dentry in the kernel's slab for each open fd: 1.7 KB of kernel memory per proxied connection, more than
 * the connection's own sockets differ by between proxies. {@link FileDescriptors#countOpen} is one stat(2).
 */
public final class ProcessFilesMeters implements MeterBinder {
    private final Path procRoot;

    public ProcessFilesMeters(Path procRoot) {
        this.procRoot = procRoot;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Gauge.builder("process.files.open", this, ProcessFilesMeters::open)
                .description("The open file descriptor count")
                .baseUnit("files")
                .register(registry);
        Gauge.builder("process.files.max", this, ProcessFilesMeters::max)
                .description("The maximum file descriptor count (soft RLIMIT_NOFILE)")
                .baseUnit("files")
                .register(registry);
    }

    private double open() {
        try {
            return FileDescriptors.countOpen(procRoot);
        } catch (IOException e) {
            return Double.NaN;
        }
    }

    private double max() {
        try {
            long limit = FileDescriptors.openFilesLimit(procRoot);
            return limit < 0 ? Double.POSITIVE_INFINITY : limit;
        } catch (IOException e) {
            return Double.NaN;
        }
    }
}
