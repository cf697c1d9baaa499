package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.timeout.TimerWheel;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Idle keep-alive connections of one event loop, by backend address and TLS context ({@link PoolKey}). Most recently used first: a connection
 * that just served a request is the least likely to have been closed by the backend meanwhile, and the rest
 * age out on {@code keepalive-idle-timeout} when traffic drops.
 *
 * <p>Concurrency note: confined to its loop; no locks.
 */
final class UpstreamPool {
    private final Map<PoolKey, ArrayDeque<UpstreamConnectionHandler>> idle = new HashMap<>();
    private final TimerWheel wheel;
    private int maxIdlePerBackend;
    private long idleTimeoutNanos;

    UpstreamPool(TimerWheel wheel, int maxIdlePerBackend, long idleTimeoutNanos) {
        this.wheel = wheel;
        this.maxIdlePerBackend = maxIdlePerBackend;
        this.idleTimeoutNanos = idleTimeoutNanos;
    }

    /** New limits (a reload); connections already pooled stay until they time out. */
    void reconfigure(int maxIdle, long idleTimeout) {
        this.maxIdlePerBackend = maxIdle;
        this.idleTimeoutNanos = idleTimeout;
    }

    /**
     * Closes the idle connections not in {@code keep}: to backends a reload removed, or made with TLS settings
     * it replaced (no new request would take them).
     */
    void closeIdleExcept(java.util.Set<PoolKey> keep) {
        for (Map.Entry<PoolKey, ArrayDeque<UpstreamConnectionHandler>> entry : idle.entrySet()) {
            if (!keep.contains(entry.getKey())) {
                for (UpstreamConnectionHandler connection : List.copyOf(entry.getValue())) {
                    connection.close();
                }
            }
        }
    }

    TimerWheel wheel() {
        return wheel;
    }

    long idleTimeoutNanos() {
        return idleTimeoutNanos;
    }

    /** An idle, still open connection fit for the key, or null. */
    @Nullable UpstreamConnectionHandler poll(PoolKey key) {
        ArrayDeque<UpstreamConnectionHandler> queue = idle.get(key);
        if (queue == null) {
            return null;
        }
        UpstreamConnectionHandler connection;
        while ((connection = queue.pollFirst()) != null) {
            if (connection.fitForReuse()) {
                return connection;
            }
            connection.close(); // closed meanwhile, or bytes arrived while idle (it is being reset anyway)
        }
        return null;
    }

    /** Keeps the connection for reuse; false when the backend's idle list is full. */
    boolean offer(UpstreamConnectionHandler connection) {
        if (maxIdlePerBackend == 0 || !connection.backend().pooled()) {
            return false; // not pooled: reset once clean (no TIME_WAIT left on the gateway's four-tuple)
        }
        ArrayDeque<UpstreamConnectionHandler> queue =
                idle.computeIfAbsent(connection.backend().poolKey(), a -> new ArrayDeque<>());
        if (queue.size() >= maxIdlePerBackend) {
            return false;
        }
        queue.addFirst(connection);
        return true;
    }

    /** Forgets a connection that closed (no-op when it was not idle here). */
    void remove(UpstreamConnectionHandler connection) {
        ArrayDeque<UpstreamConnectionHandler> queue = idle.get(connection.backend().poolKey());
        if (queue != null) {
            queue.remove(connection);
        }
    }

    /** Idle connections held, over all backends. */
    int size() {
        int total = 0;
        for (ArrayDeque<UpstreamConnectionHandler> queue : idle.values()) {
            total += queue.size();
        }
        return total;
    }
}
