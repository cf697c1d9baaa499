package dev.fourtuple.gateway.transport;

import io.netty.channel.EventLoop;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/** The gateway's event loops, all of one transport. Every connection lives on exactly one of them. */
public final class EventLoops {
    private final TransportKind transport;
    private final IoEventLoopGroup group;
    private final List<EventLoop> loops;

    private EventLoops(TransportKind transport, IoEventLoopGroup group) {
        this.transport = transport;
        this.group = group;
        List<EventLoop> list = new ArrayList<>();
        for (EventExecutor executor : group) {
            list.add((EventLoop) executor);
        }
        this.loops = List.copyOf(list);
    }

    /**
     * Starts the loops.
     *
     * @param count number of loops, 0 = one per available core
     */
    public static EventLoops start(TransportKind transport, int count, String threadPrefix) {
        int threads = count > 0 ? count : Runtime.getRuntime().availableProcessors();
        IoEventLoopGroup group = new MultiThreadIoEventLoopGroup(threads,
                new DefaultThreadFactory(threadPrefix, true), transport.ioHandlerFactory());
        return new EventLoops(transport, group);
    }

    public TransportKind transport() {
        return transport;
    }

    public IoEventLoopGroup group() {
        return group;
    }

    public List<EventLoop> loops() {
        return loops;
    }

    /** Creates one {@code T} per loop, on the calling thread. */
    public <T> PerLoop<T> perLoop(Function<EventLoop, T> factory) {
        return PerLoop.of(loops, factory);
    }

    /** Stops the loops, closing every channel still registered, and waits up to the given time. */
    public void shutdown(Duration timeout) {
        Future<?> done = group.shutdownGracefully(0, timeout.toMillis(), TimeUnit.MILLISECONDS);
        done.awaitUninterruptibly(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
    }
}
