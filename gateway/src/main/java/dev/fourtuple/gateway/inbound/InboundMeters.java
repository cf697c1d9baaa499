package dev.fourtuple.gateway.inbound;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import java.util.concurrent.atomic.AtomicLong;

/** Meters of the client side. */
public final class InboundMeters {
    private final AtomicLong active = new AtomicLong();
    private final Counter accepted;
    private final Counter requests;
    private final ChannelFutureListener onClose = future -> active.decrementAndGet();

    public InboundMeters(MeterRegistry registry) {
        Gauge.builder("fourtuple.connections.active", active, AtomicLong::get)
                .description("Open connections")
                .tag("side", "downstream")
                .register(registry);
        accepted = Counter.builder("fourtuple.connections.accepted")
                .description("Client connections accepted").register(registry);
        requests = Counter.builder("fourtuple.requests")
                .description("Request heads received from clients").register(registry);
    }

    /** Counts the connection open until its channel closes (one shared listener, no allocation). */
    void opened(Channel channel) {
        active.incrementAndGet();
        accepted.increment();
        channel.closeFuture().addListener(onClose);
    }

    void request() {
        requests.increment();
    }

    /** Client connections open now. */
    public long active() {
        return active.get();
    }
}
