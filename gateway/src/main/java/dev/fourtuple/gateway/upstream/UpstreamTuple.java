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
    private static final long LEARNED_TTL_NANOS = 1_000_000_000L;

    private final @Nullable InetAddress source;
    private final InetSocketAddress backend;
    private final String sourceLabel;
    private final String backendLabel;
    private final AtomicInteger inUse = new AtomicInteger();
    /**
     * In use when the kernel last said EADDRNOTAVAIL: a cap learned the hard way. Forgotten when one of the
     * tuple's connections closes (a port is free again) or after {@link #LEARNED_TTL_NANOS} (the ports may
     * have been held by something else: TIME_WAIT, another process).
     */
    private volatile int learnedCapacity = UNKNOWN;
    private volatile long learnedAt;

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

    /** True while the kernel has refused a port on this tuple and nothing has changed since. */
    public boolean learnedFull() {
        int learned = learnedCapacity();
        return learned != UNKNOWN && inUse.get() >= learned;
    }

    /** The learned cap, or {@link Integer#MAX_VALUE} when none holds. */
    int learnedCapacity() {
        int learned = learnedCapacity;
        if (learned != UNKNOWN && System.nanoTime() - learnedAt > LEARNED_TTL_NANOS) {
            learnedCapacity = UNKNOWN;
            return UNKNOWN;
        }
        return learned;
    }

    void acquire() {
        inUse.incrementAndGet();
    }

    void release() {
        inUse.decrementAndGet();
    }

    /** One of this tuple's connections closed: its port is free, so whatever was learned is stale. */
    void closed() {
        release();
        learnedCapacity = UNKNOWN;
    }

    void markFull() {
        learnedAt = System.nanoTime();
        learnedCapacity = inUse.get();
    }

    @Override
    public String toString() {
        return sourceLabel + "→" + backendLabel;
    }
}
