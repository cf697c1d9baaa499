package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.SendProxyProtocol;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * One backend address of a cluster, its name and weight, the four-tuples that lead to it (one per source IP),
 * the cluster's TLS towards it (if any), how many requests and tunnels it is serving now (for
 * least-connections) and its health.
 */
public final class Backend {
    private final String name;
    private final int weight;
    private final InetSocketAddress address;
    private final String label;
    private final List<UpstreamTuple> tuples;
    private final BackendState state;
    private final AtomicInteger active;
    private final @Nullable BackendTls tls;
    private final PoolKey poolKey;
    private final SendProxyProtocol sendProxyProtocol;

    Backend(String name, int weight, InetSocketAddress address, List<UpstreamTuple> tuples, BackendState state,
            @Nullable BackendTls tls, SendProxyProtocol sendProxyProtocol) {
        this.name = name;
        this.weight = weight;
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

    /** A plaintext backend of weight 1 reached from sources the kernel chooses (tests). */
    public static Backend of(InetSocketAddress address, PortLedger ledger) {
        String label = address.getAddress().getHostAddress() + ":" + address.getPort();
        return new Backend(label, 1, address, List.of(ledger.tuple(null, address)), new BackendState(), null,
                SendProxyProtocol.OFF);
    }

    /** Its name in the config (unique in its cluster): status, metrics and sticky cookies use it. */
    public String name() {
        return name;
    }

    /** Its share relative to the cluster's other backends (1..256). */
    public int weight() {
        return weight;
    }

    /** The cluster's TLS towards this backend, or null for plaintext. */
    public @Nullable BackendTls tls() {
        return tls;
    }

    /** Which idle connections may carry this backend's requests: same address, same TLS context. */
    PoolKey poolKey() {
        return poolKey;
    }

    BackendState state() {
        return state;
    }

    /** Connects to it that failed in a row (0 after a success). */
    public int consecutiveFailures() {
        return state.consecutiveConnectFailures();
    }

    /** Requests on it that failed in a row (connect, 5xx, response timeout: outlier detection's count). */
    public int requestFailures() {
        return state.consecutiveFailures();
    }

    /** Whether new requests and tunnels may go to it: its check says up and no ejection is in force. */
    public boolean available(long nowNanos) {
        return state.up() && !state.ejected(nowNanos);
    }

    /** The active check's verdict (true when the cluster has no check). */
    public boolean up() {
        return state.up();
    }

    /** Whether outlier detection has it out at {@code nowNanos}. */
    public boolean ejected(long nowNanos) {
        return state.ejected(nowNanos);
    }

    /** Times outlier detection ejected it since the gateway started. */
    public int ejections() {
        return state.ejections();
    }

    /** When the ejection in force ends (System.nanoTime() scale); meaningful while {@link #ejected}. */
    public long ejectedUntilNanos() {
        return state.ejectedUntilNanos();
    }

    /** The last active check's outcome, "" before the first. */
    public String lastCheck() {
        return state.lastCheck();
    }

    /** The last active check's latency in nanoseconds, -1 before the first. */
    public long lastCheckNanos() {
        return state.lastCheckNanos();
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

    /**
     * A request or tunnel started using this backend. Pair with {@link #finished()}. Requests count through
     * {@link Acquisition}; a tunnel adopted from a predecessor process counts itself.
     */
    public void started() {
        active.incrementAndGet();
    }

    public void finished() {
        active.decrementAndGet();
    }

    @Override
    public String toString() {
        return label.equals(name) ? label : name + "=" + label;
    }
}
