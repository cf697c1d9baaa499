package dev.fourtuple.gateway.tunnel;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.atomic.AtomicLong;

/** Meters of tunnels. */
public final class TunnelMeters {
    private final AtomicLong active = new AtomicLong();
    private final Counter opened;
    private final Counter idleClosed;
    private final Counter movedOut;
    private final Counter movedIn;

    public TunnelMeters(MeterRegistry registry) {
        Gauge.builder("fourtuple.tunnels.active", active, AtomicLong::get)
                .description("Upgraded (WebSocket) connections being relayed").register(registry);
        opened = Counter.builder("fourtuple.tunnels.opened")
                .description("Upgrades that became tunnels").register(registry);
        idleClosed = Counter.builder("fourtuple.tunnels.idle.closed")
                .description("Tunnels closed by tunnel-idle-timeout").register(registry);
        movedOut = Counter.builder("fourtuple.tunnels.handed.over")
                .description("Tunnels passed, live, to a successor process").register(registry);
        movedIn = Counter.builder("fourtuple.tunnels.taken.over")
                .description("Tunnels taken over, live, from a predecessor process").register(registry);
    }

    void movedOut() {
        active.decrementAndGet();
        movedOut.increment();
    }

    void movedIn() {
        active.incrementAndGet();
        movedIn.increment();
    }

    void opened() {
        active.incrementAndGet();
        opened.increment();
    }

    void closed() {
        active.decrementAndGet();
    }

    void idleClosed() {
        idleClosed.increment();
    }

    /** Tunnels open now. */
    public long active() {
        return active.get();
    }
}
