package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.metrics.OpenConnections;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** Meters of the upstream side. */
public final class UpstreamMeters {
    private final OpenConnections connections;
    private final Counter connectFailures;
    private final Counter reuses;
    private final Counter portsExhausted;
    private final Counter handshakeFailures;
    private final MeterRegistry registry;
    private final Set<UpstreamTuple> registered = ConcurrentHashMap.newKeySet();

    public UpstreamMeters(MeterRegistry registry) {
        connections = new OpenConnections(registry, "upstream");
        connectFailures = Counter.builder("fourtuple.upstream.connect.failures")
                .description("Connections to backends that could not be opened").register(registry);
        reuses = Counter.builder("fourtuple.upstream.reuses")
                .description("Requests sent on a pooled keep-alive connection").register(registry);
        portsExhausted = Counter.builder("fourtuple.upstream.eaddrnotavail")
                .description("Connects the kernel refused for want of a free source port").register(registry);
        handshakeFailures = Counter.builder("fourtuple.upstream.tls.handshake.failures")
                .description("TLS handshakes with backends that failed (also counted as connect failures)")
                .register(registry);
        this.registry = registry;
    }

    /**
     * Gauges per four-tuple slot: {@code fourtuple.upstream.tuple.in_use{source,backend}} and
     * {@code fourtuple.upstream.tuple.capacity{source,backend}} (P, or less once the kernel said otherwise).
     */
    public void registerTuples(PortLedger ledger) {
        for (UpstreamTuple tuple : ledger.tuples()) {
            if (!registered.add(tuple)) {
                continue; // already has its gauges (a reload keeps tuples)
            }
            Gauge.builder("fourtuple.upstream.tuple.in_use", tuple, UpstreamTuple::inUse)
                    .description("Upstream connections open on this {source, backend} pair")
                    .tag("source", tuple.sourceLabel()).tag("backend", tuple.backendLabel())
                    .register(registry);
            Gauge.builder("fourtuple.upstream.tuple.capacity", tuple,
                            t -> Math.min(ledger.capacity(), t.learnedCapacity()))
                    .description("Source ports this {source, backend} pair can have")
                    .tag("source", tuple.sourceLabel()).tag("backend", tuple.backendLabel())
                    .register(registry);
        }
    }

    void opened() {
        connections.opened();
    }

    void closed() {
        connections.closed();
    }

    void connectFailed() {
        connectFailures.increment();
    }

    void handshakeFailed() {
        handshakeFailures.increment();
    }

    void portsExhausted() {
        portsExhausted.increment();
    }

    void reused() {
        reuses.increment();
    }

    /** Open upstream connections now. */
    public long active() {
        return connections.active();
    }

    /** Connections opened so far (tests: proves pooling). */
    public long connects() {
        return connections.total();
    }
}
