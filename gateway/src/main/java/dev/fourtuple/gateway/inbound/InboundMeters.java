package dev.fourtuple.gateway.inbound;

import dev.fourtuple.gateway.metrics.OpenConnections;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.Channel;

/** Meters of the client side. */
public final class InboundMeters {
    private final OpenConnections connections;
    private final Counter requests;

    public InboundMeters(MeterRegistry registry) {
        connections = new OpenConnections(registry, "downstream");
        requests = Counter.builder("fourtuple.requests")
                .description("Request heads received from clients").register(registry);
    }

    void opened(Channel channel) {
        connections.opened(channel);
    }

    void request() {
        requests.increment();
    }

    /** Client connections open now. */
    public long active() {
        return connections.active();
    }
}
