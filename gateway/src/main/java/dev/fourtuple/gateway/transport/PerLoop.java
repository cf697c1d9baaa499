package dev.fourtuple.gateway.transport;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.EventExecutor;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * One instance of some state per event loop, looked up by the loop a channel lives on. The state is touched
 * only from its own loop, so it needs no locks: that is the point of keeping it per loop.
 */
public final class PerLoop<T> {
    private final Map<EventExecutor, T> byLoop;

    private PerLoop(Collection<EventLoop> loops, Function<EventLoop, T> factory) {
        Map<EventExecutor, T> map = new IdentityHashMap<>();
        for (EventLoop loop : loops) {
            map.put(loop, factory.apply(loop));
        }
        this.byLoop = map;
    }

    /** One {@code T} for each of the loops, created on the calling thread. */
    public static <T> PerLoop<T> of(Collection<EventLoop> loops, Function<EventLoop, T> factory) {
        return new PerLoop<>(loops, factory);
    }

    /** The state of the given loop. */
    public T get(EventLoop loop) {
        T value = byLoop.get(loop);
        if (value == null) {
            throw new IllegalArgumentException("not one of this gateway's event loops: " + loop);
        }
        return value;
    }

    /** Every loop's state, for work that visits them all (each visit must run on its own loop). */
    public Collection<T> all() {
        return byLoop.values();
    }
}
