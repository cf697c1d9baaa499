package dev.fourtuple.gateway.upstream;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * One {source IP, backend IP:port} pair: three fixed elements of the four-tuple, so the source port is all
 * that tells its connections apart. Counts the connections open on it against how many ports it can have.
 *
 * <p>Concurrency note: counts are atomics because every event loop connects to every backend; a pick may
 * race another loop's by one connection, which the kernel's EADDRNOTAVAIL then corrects.
 */
public final class UpstreamTuple {
    private static final int UNKNOWN = Integer.MAX_VALUE;

    private final @Nullable InetAddress source;
    private final InetSocketAddress backend;
    private final String sourceLabel;
    private final String backendLabel;
    private final AtomicInteger inUse = new AtomicInteger();
    /** In use when the kernel said EADDRNOTAVAIL: a cap learned the hard way, forgotten when it empties. */
    private volatile int learnedCapacity = UNKNOWN;

    UpstreamTuple(@Nullable InetAddress source, InetSocketAddress backend) {
        this.source = source;
        this.backend = backend;
        this.sourceLabel = source == null ? "auto" : source.getHostAddress();
        this.backendLabel = backend.getAddress().getHostAddress() + ":" + backend.getPort();
    }

    /** The source IP to bind, or null when the kernel chooses it. */
    public @Nullable InetAddress source() {
        return source;
    }

    public InetSocketAddress backend() {
        return backend;
    }

    /** Tag value: the source IP, or "auto". */
    public String sourceLabel() {
        return sourceLabel;
    }

    /** Tag value: "IP:PORT". */
    public String backendLabel() {
        return backendLabel;
    }

    public int inUse() {
        return inUse.get();
    }

    /** True while the kernel has refused a port on this tuple and not enough of its connections closed. */
    public boolean learnedFull() {
        return learnedCapacity != UNKNOWN && inUse.get() >= learnedCapacity;
    }

    int learnedCapacity() {
        return learnedCapacity;
    }

    void acquire() {
        inUse.incrementAndGet();
    }

    void release() {
        if (inUse.decrementAndGet() == 0) {
            learnedCapacity = UNKNOWN;
        }
    }

    void markFull() {
        learnedCapacity = inUse.get();
    }

    @Override
    public String toString() {
        return sourceLabel + "→" + backendLabel;
    }
}
