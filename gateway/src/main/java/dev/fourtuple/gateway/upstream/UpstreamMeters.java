package dev.fourtuple.gateway.upstream;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import java.util.concurrent.atomic.AtomicLong;

/** Meters of the upstream side. */
public final class UpstreamMeters {
    private final AtomicLong active = new AtomicLong();
    private final Counter connects;
    private final Counter connectFailures;
    private final Counter reuses;
    private final ChannelFutureListener onClose = future -> active.decrementAndGet();

    public UpstreamMeters(MeterRegistry registry) {
        Gauge.builder("fourtuple.connections.active", active, AtomicLong::get)
                .description("Open connections")
                .tag("side", "upstream")
                .register(registry);
        connects = Counter.builder("fourtuple.upstream.connects")
                .description("New connections opened to backends").register(registry);
        connectFailures = Counter.builder("fourtuple.upstream.connect.failures")
                .description("Connections to backends that could not be opened").register(registry);
        reuses = Counter.builder("fourtuple.upstream.reuses")
                .description("Requests sent on a pooled keep-alive connection").register(registry);
    }

    /** Counts the connection open until its channel closes (one shared listener, no allocation). */
    void opened(Channel channel) {
        active.incrementAndGet();
        connects.increment();
        channel.closeFuture().addListener(onClose);
    }

    void connectFailed() {
        connectFailures.increment();
    }

    void reused() {
        reuses.increment();
    }

    /** Open upstream connections now. */
    public long active() {
        return active.get();
    }

    /** Connections opened so far (tests: proves pooling). */
    public long connects() {
        return (long) connects.count();
    }
}
