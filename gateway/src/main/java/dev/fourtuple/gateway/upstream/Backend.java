package dev.fourtuple.gateway.upstream;

import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;

/** One backend address and how many requests and tunnels it is serving now (for least-connections). */
public final class Backend {
    private final InetSocketAddress address;
    private final String label;
    private final AtomicInteger active = new AtomicInteger();

    public Backend(InetSocketAddress address) {
        this.address = address;
        this.label = address.getAddress().getHostAddress() + ":" + address.getPort();
    }

    public InetSocketAddress address() {
        return address;
    }

    /** Requests and tunnels in progress on this backend. */
    public int active() {
        return active.get();
    }

    /** A request or tunnel started using this backend. Pair with {@link #finished()}. */
    public void started() {
        active.incrementAndGet();
    }

    public void finished() {
        active.decrementAndGet();
    }

    @Override
    public String toString() {
        return label;
    }
}
