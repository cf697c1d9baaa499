package dev.fourtuple.gateway.connection;

import io.netty.channel.Channel;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A client connection as its loop's {@link ConnectionRegistry} sees it: an HTTP connection between or within
 * exchanges, or a tunnel. Every method runs on the connection's loop.
 */
public interface ClientConnection {

    /** True while it uses one of these backends (a tunnel to it, an exchange in flight with it). */
    boolean uses(Set<InetSocketAddress> backends);

    /** A backend it uses was removed by a reload and the reload-grace is over: cut what uses it. */
    void cutForRemovedBackend();

    /**
     * A drain began: an HTTP connection takes no new request and closes when idle; a tunnel closes the way a
     * WebSocket closes, with {@code closeCode}, at {@code closeAtNanos} on its loop's wheel clock (no Close at
     * all when {@code closeCode} is 0: it is left to end by itself).
     */
    void drain(long closeAtNanos, int closeCode);

    /** Its channels, client's first: a stop closes them and waits. */
    List<Channel> channels();

    /**
     * Starts moving it to a successor process, if it can move now (its state fits in a record: a plaintext
     * tunnel, an HTTP connection idle between requests; nothing in flight, nothing unwritten): quiets it and
     * hands {@code ready}, on its loop, its {@link Departure}. From this call on it ignores its deadlines.
     *
     * @return false when it cannot move now ({@code ready} is not called); a later try may succeed
     */
    default boolean depart(Consumer<Departure> ready) {
        return false;
    }
}
