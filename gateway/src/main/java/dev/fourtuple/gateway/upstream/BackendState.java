package dev.fourtuple.gateway.upstream;

import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the gateway knows about a backend address that outlives a reload: requests and tunnels in progress on
 * it (least-connections must not forget them when the config changes) and whether its last connects failed
 * (passive health, for status). One per address, shared by every cluster that lists it.
 */
public final class BackendState {
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicInteger consecutiveFailures = new AtomicInteger();

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
        if (consecutiveFailures.get() != 0) {
            consecutiveFailures.set(0);
        }
    }

    void connectFailed() {
        consecutiveFailures.incrementAndGet();
    }

    int consecutiveFailures() {
        return consecutiveFailures.get();
    }
}
