package dev.fourtuple.gateway.upstream;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * Every upstream four-tuple slot the gateway uses, {source IP, backend IP:port}, with its connections in use
 * against its capacity; and the choice of source for each new connection: the one with the most headroom
 * towards the chosen backend.
 *
 * <p>Capacity per tuple is P, the ephemeral ports ({@link EphemeralPorts}), when sources are bound with
 * IP_BIND_ADDRESS_NO_PORT (or not bound at all): the kernel then picks the port at connect time, per
 * four-tuple. Without it, bind() reserves the port for the source IP across all destinations, so a source's
 * P ports are shared by all its backends: {@link #perSourceCap} then also applies.
 */
public final class PortLedger {
    private final Map<Key, UpstreamTuple> tuples = new ConcurrentHashMap<>();
    private final Map<InetAddress, AtomicInteger> bySource = new ConcurrentHashMap<>();
    private volatile int capacity;
    private final boolean perSourceCap;

    private record Key(@Nullable InetAddress source, InetSocketAddress backend) {
    }

    /**
     * @param capacity     P: ports per tuple
     * @param perSourceCap true when bound sources reserve their port at bind time (no IP_BIND_ADDRESS_NO_PORT)
     */
    public PortLedger(int capacity, boolean perSourceCap) {
        this.capacity = capacity;
        this.perSourceCap = perSourceCap;
    }

    /** The tuple for a source (null = kernel-chosen) and backend, shared by every cluster that uses it. */
    public UpstreamTuple tuple(@Nullable InetAddress source, InetSocketAddress backend) {
        return tuples.computeIfAbsent(new Key(source, backend), k -> new UpstreamTuple(k.source(), k.backend()));
    }

    /** P, the ports one tuple can have. */
    public int capacity() {
        return capacity;
    }

    /** A new P (re-read on reload). */
    public void capacity(int ports) {
        this.capacity = ports;
    }

    public boolean perSourceCap() {
        return perSourceCap;
    }

    /** Every tuple known, for metrics and status. */
    public Collection<UpstreamTuple> tuples() {
        return List.copyOf(tuples.values());
    }

    /**
     * Takes one connection slot on the candidate with the most headroom, or returns null when every candidate
     * is full. Pair with {@link #release}.
     */
    public @Nullable UpstreamTuple acquire(List<UpstreamTuple> candidates) {
        UpstreamTuple best = null;
        int bestHeadroom = 0;
        for (UpstreamTuple candidate : candidates) {
            int headroom = headroom(candidate);
            if (headroom > bestHeadroom) {
                best = candidate;
                bestHeadroom = headroom;
            }
        }
        if (best != null) {
            best.acquire();
            InetAddress source = best.source();
            if (source != null) {
                sourceCount(source).incrementAndGet();
            }
        }
        return best;
    }

    /**
     * Counts a connection on the tuple that was connected elsewhere (a predecessor process's, taken over):
     * it holds a port whether or not the tuple has headroom. Pair with {@link #closed}.
     */
    public void adopt(UpstreamTuple tuple) {
        tuple.acquire();
        InetAddress source = tuple.source();
        if (source != null) {
            sourceCount(source).incrementAndGet();
        }
    }

    /** A connect on the tuple failed: its slot is given back. */
    public void release(UpstreamTuple tuple) {
        tuple.release();
        releaseSource(tuple);
    }

    /** A connection on the tuple closed: its slot is given back and its port is free again. */
    public void closed(UpstreamTuple tuple) {
        tuple.closed();
        releaseSource(tuple);
    }

    private void releaseSource(UpstreamTuple tuple) {
        InetAddress source = tuple.source();
        if (source != null) {
            sourceCount(source).decrementAndGet();
        }
    }

    /** The kernel had no port left on this tuple: what it holds now is its capacity, until a connection on it closes or a second passes. */
    public void markFull(UpstreamTuple tuple) {
        tuple.markFull();
    }

    /** Free slots on the tuple: capacity (or the learned cap) minus in use, and the source's share if capped. */
    public int headroom(UpstreamTuple tuple) {
        int limit = Math.min(capacity, tuple.learnedCapacity());
        int headroom = limit - tuple.inUse();
        InetAddress source = tuple.source();
        if (perSourceCap && source != null) {
            headroom = Math.min(headroom, capacity - sourceCount(source).get());
        }
        return headroom;
    }

    private AtomicInteger sourceCount(InetAddress source) {
        return bySource.computeIfAbsent(source, s -> new AtomicInteger());
    }

    /** Tuples of the given list that are full, for the exhaustion log line. */
    public List<UpstreamTuple> full(List<UpstreamTuple> candidates) {
        List<UpstreamTuple> full = new ArrayList<>();
        for (UpstreamTuple candidate : candidates) {
            if (headroom(candidate) <= 0) {
                full.add(candidate);
            }
        }
        return full;
    }
}
