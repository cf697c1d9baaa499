package dev.fourtuple.gateway.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Open connections of one side ({@code fourtuple.connections.active{side}}) and how many were ever opened
 * ({@code fourtuple.connections.opened{side}}). A channel counts from {@link #opened} until it closes, through
 * one listener shared by all channels: nothing allocated per connection.
 */
public final class OpenConnections {
    private final AtomicLong active = new AtomicLong();
    private final Counter opened;
    private final ChannelFutureListener onClose = future -> active.decrementAndGet();

    public OpenConnections(MeterRegistry registry, String side) {
        Gauge.builder("fourtuple.connections.active", active, AtomicLong::get)
                .description("Open connections")
                .tag("side", side)
                .register(registry);
        opened = Counter.builder("fourtuple.connections.opened")
                .description("Connections opened")
                .tag("side", side)
                .register(registry);
    }

    /** Counts the channel as open until it closes. */
    public void opened(Channel channel) {
        active.incrementAndGet();
        opened.increment();
        channel.closeFuture().addListener(onClose);
    }

    /**
     * Counts a connection whose close the caller reports with {@link #closed()}, from a close listener it
     * adds anyway: one listener per channel instead of two.
     */
    public void opened() {
        active.incrementAndGet();
        opened.increment();
    }

    /** A connection counted with {@link #opened()} has closed. */
    public void closed() {
        active.decrementAndGet();
    }

    /** Open now. */
    public long active() {
        return active.get();
    }

    /** Opened so far. */
    public long total() {
        return (long) opened.count();
    }
}
