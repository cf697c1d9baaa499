package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.SendProxyProtocol;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * One backend address of a cluster, the four-tuples that lead to it (one per source IP), the cluster's TLS
 * towards it (if any), and how many requests and tunnels it is serving now (for least-connections).
 */
public final class Backend {
    private final InetSocketAddress address;
    private final String label;
    private final List<UpstreamTuple> tuples;
    private final BackendState state;
    private final AtomicInteger active;
    private final @Nullable BackendTls tls;
    private final PoolKey poolKey;
    private final SendProxyProtocol sendProxyProtocol;

    Backend(InetSocketAddress address, List<UpstreamTuple> tuples, BackendState state, @Nullable BackendTls tls) {
        this(address, tuples, state, tls, SendProxyProtocol.OFF);
    }

    Backend(InetSocketAddress address, List<UpstreamTuple> tuples, BackendState state, @Nullable BackendTls tls,
            SendProxyProtocol sendProxyProtocol) {
        this.address = address;
        this.label = address.getAddress().getHostAddress() + ":" + address.getPort();
        this.tuples = List.copyOf(tuples);
        this.state = state;
        this.active = state.active();
        this.tls = tls;
        this.poolKey = new PoolKey(address, tls);
        this.sendProxyProtocol = sendProxyProtocol;
    }

    /** The PROXY protocol header its cluster starts each new connection with. */
    SendProxyProtocol sendProxyProtocol() {
        return sendProxyProtocol;
    }

    /**
     * Whether its idle connections are pooled. Not when they start with a PROXY header: a header is sent once,
     * first (HAProxy's doc/proxy-protocol.txt §2), so the connection speaks for one client for its whole
     * life. Keying the pool by client instead was weighed and rejected: the pool's bound,
     * keepalive-max-idle per (loop, backend), would become one per client (a million clients, a million
     * idle lists of fds), and the only reuse it buys is the same client's next request, which mostly comes
     * on the same downstream connection anyway. So each request gets its own connection.
     */
    boolean pooled() {
        return sendProxyProtocol == SendProxyProtocol.OFF;
    }

    /** A plaintext backend reached from sources the kernel chooses (tests). */
    public static Backend of(InetSocketAddress address, PortLedger ledger) {
        return new Backend(address, List.of(ledger.tuple(null, address)), new BackendState(), null);
    }

    /** The cluster's TLS towards this backend, or null for plaintext. */
    public @Nullable BackendTls tls() {
        return tls;
    }

    /** Which idle connections may carry this backend's requests: same address, same TLS context. */
    PoolKey poolKey() {
        return poolKey;
    }

    /** Connects to it that failed in a row (0 after a success): passive health. */
    public int consecutiveFailures() {
        return state.consecutiveFailures();
    }

    void connected() {
        state.connected();
    }

    void connectFailed() {
        state.connectFailed();
    }

    /** One tuple per source IP (a single kernel-chosen one when no source is configured). */
    public List<UpstreamTuple> tuples() {
        return tuples;
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
