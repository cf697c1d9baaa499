package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.metrics.OpenConnections;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.Channel;

/** Meters of the upstream side. */
public final class UpstreamMeters {
    private final OpenConnections connections;
    private final Counter connectFailures;
    private final Counter reuses;

    public UpstreamMeters(MeterRegistry registry) {
        connections = new OpenConnections(registry, "upstream");
        connectFailures = Counter.builder("fourtuple.upstream.connect.failures")
                .description("Connections to backends that could not be opened").register(registry);
        reuses = Counter.builder("fourtuple.upstream.reuses")
                .description("Requests sent on a pooled keep-alive connection").register(registry);
    }

    void opened(Channel channel) {
        connections.opened(channel);
    }

    void connectFailed() {
        connectFailures.increment();
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
