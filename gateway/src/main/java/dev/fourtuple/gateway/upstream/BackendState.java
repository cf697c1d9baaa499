package dev.fourtuple.gateway.upstream;

import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the gateway knows about a backend address that outlives a reload or a DNS change: requests and tunnels
 * in progress on it (least-connections must not forget them when the config changes), its passive health
 * (failures in a row, ejections) and its active health (the check's verdict). One per address, shared by every
 * cluster that lists it: a backend that is down is down for all of them.
 *
 * <p>Written from every event loop; each field is read and written on its own (no invariant spans two), so
 * volatile fields and atomics are enough, no lock.
 */
public final class BackendState {
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicInteger consecutiveConnectFailures = new AtomicInteger();
    private final AtomicInteger consecutiveFailures = new AtomicInteger();
    private final AtomicInteger ejections = new AtomicInteger();
    private volatile long ejectedUntilNanos;
    private volatile boolean ejected;
    /** The active check's verdict: true until a check says otherwise (no check = always up). */
    private volatile boolean up = true;
    private volatile long lastCheckNanos = -1;
    private volatile String lastCheck = "";

    /** The states of all addresses, kept across reloads. */
    public static final class Registry {
        private final Map<InetSocketAddress, BackendState> states = new ConcurrentHashMap<>();

        BackendState of(InetSocketAddress address) {
            return states.computeIfAbsent(address, a -> new BackendState());
        }
    }

    AtomicInteger active() {
        return active;
    }

    void connected() {
        if (consecutiveConnectFailures.get() != 0) {
            consecutiveConnectFailures.set(0);
        }
    }

    void connectFailed() {
        consecutiveConnectFailures.incrementAndGet();
    }

    int consecutiveConnectFailures() {
        return consecutiveConnectFailures.get();
    }

    /** A request on it went well (a response that is not a 5xx): the failure streak ends. */
    void succeeded() {
        if (consecutiveFailures.get() != 0) {
            consecutiveFailures.set(0);
        }
    }

    /** A request on it failed; returns the failures in a row, this one included. */
    int failed() {
        return consecutiveFailures.incrementAndGet();
    }

    int consecutiveFailures() {
        return consecutiveFailures.get();
    }

    /** Whether an ejection is in force at {@code nowNanos}. */
    boolean ejected(long nowNanos) {
        return ejected && nowNanos - ejectedUntilNanos < 0;
    }

    /** Takes it out until {@code untilNanos}; returns how many times it has been ejected, this one included. */
    int eject(long untilNanos) {
        ejectedUntilNanos = untilNanos;
        ejected = true;
        consecutiveFailures.set(0);
        return ejections.incrementAndGet();
    }

    /** Ends an ejection early (a passing active check). */
    void readmit() {
        ejected = false;
    }

    int ejections() {
        return ejections.get();
    }

    long ejectedUntilNanos() {
        return ejectedUntilNanos;
    }

    boolean up() {
        return up;
    }

    /** The active check's verdict changed. */
    void up(boolean up) {
        this.up = up;
    }

    /** The last check's outcome ("200 in 3 ms", "timed out after 1000 ms") and its latency. */
    void checked(String outcome, long latencyNanos) {
        lastCheck = outcome;
        lastCheckNanos = latencyNanos;
    }

    String lastCheck() {
        return lastCheck;
    }

    /** Latency of the last check in nanoseconds, or -1 before the first one. */
    long lastCheckNanos() {
        return lastCheckNanos;
    }
}
