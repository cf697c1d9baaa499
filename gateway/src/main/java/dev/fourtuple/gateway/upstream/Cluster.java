package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.BackendConfig;
import dev.fourtuple.gateway.config.BalancerKind;
import dev.fourtuple.gateway.config.ClusterConfig;
import dev.fourtuple.gateway.config.DownPolicy;
import dev.fourtuple.gateway.config.HashKey;
import dev.fourtuple.gateway.config.HealthCheckSettings;
import dev.fourtuple.gateway.config.OutlierSettings;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A named group of backends: which one a request goes to (sticky cookie, consistent hash, balancer; healthy
 * ones first) and what its outcomes say of each backend's health (outlier ejection). Immutable in its set of
 * backends: a reload or a DNS change builds a new one over the same {@link BackendState}s.
 */
public final class Cluster {
    private static final Logger log = LoggerFactory.getLogger(Cluster.class);
    /** Most weight a backend gets from a DNS answer's weight times its entry's. */
    private static final int MAX_WEIGHT = 256;

    private final String name;
    private final List<Backend> backends;
    private final Map<String, Backend> byName;
    private final Map<String, Backend> bySticky;
    private final Map<Backend, String> stickyIds;
    private final Balancer balancer;
    private final @Nullable HashKey hashKey;
    private final @Nullable RendezvousHash hash;
    private final @Nullable String stickyCookie;
    private final @Nullable HealthCheckSettings healthCheck;
    private final OutlierSettings outlier;
    private final DownPolicy onDown;
    private final int maxEjected;

    private Cluster(ClusterConfig config, List<Backend> backends) {
        this.name = config.name();
        this.backends = List.copyOf(backends);
        this.byName = new HashMap<>();
        backends.forEach(b -> byName.put(b.name(), b));
        this.bySticky = new HashMap<>();
        this.stickyIds = new HashMap<>();
        for (Backend backend : this.backends) {
            // Opaque: a cookie must not tell clients the backends' addresses. From the cluster's and the
            // backend's names only, so it stays valid across reloads, DNS changes and gateway processes.
            String id = String.format("%016x", SessionKeys.hash(name + "/" + backend.name()));
            bySticky.put(id, backend);
            stickyIds.put(backend, id);
        }
        this.balancer = Balancer.of(config.balancer(), this.backends);
        this.hashKey = config.hashKey();
        this.hash = config.balancer() == BalancerKind.HASH ? new RendezvousHash(this.backends) : null;
        this.stickyCookie = config.stickyCookie();
        this.healthCheck = config.healthCheck();
        this.outlier = config.outlier();
        this.onDown = config.onDown();
        this.maxEjected = backends.size() <= 1 ? 0 : Math.max(1, (int) (backends.size() * outlier.maxEjectedFraction()));
    }

    /**
     * A cluster whose backends are reached from {@code sources} (empty = the kernel chooses), with their
     * tuples taken from the shared ledger.
     */
    public static Cluster of(ClusterConfig config, List<InetAddress> sources, PortLedger ledger) {
        return of(config, sources, ledger, new BackendState.Registry());
    }

    /** As {@link #of(ClusterConfig, List, PortLedger)}, with backend state that survives reloads. */
    public static Cluster of(ClusterConfig config, List<InetAddress> sources, PortLedger ledger,
            BackendState.Registry states) {
        return of(config, sources, ledger, states, null, Discovered.NONE);
    }

    /**
     * The cluster {@code config} describes: its fixed backends and, for its DNS entries, the addresses
     * {@code discovered} holds; connections made with {@code tls} (built from {@code config.tls()}; null =
     * plaintext). An address listed twice (a fixed entry and a DNS answer, two DNS names) is one backend.
     */
    public static Cluster of(ClusterConfig config, List<InetAddress> sources, PortLedger ledger,
            BackendState.Registry states, @Nullable BackendTls tls, Discovered discovered) {
        List<Backend> backends = new ArrayList<>();
        Set<InetSocketAddress> seen = new LinkedHashSet<>();
        for (BackendConfig entry : config.backends()) {
            InetSocketAddress fixed = entry.address();
            if (fixed != null) {
                if (seen.add(fixed)) {
                    backends.add(backend(config, entry.name(), entry.weight(), fixed, sources, ledger, states, tls));
                }
                continue;
            }
            for (Discovered.Address answer : discovered.of(entry.dns())) {
                InetSocketAddress address = answer.address();
                if (seen.add(address)) {
                    String label = entry.name() + "/" + address.getAddress().getHostAddress() + ":" + address.getPort();
                    int weight = Math.min(MAX_WEIGHT, entry.weight() * answer.weight());
                    backends.add(backend(config, label, weight, address, sources, ledger, states, tls));
                }
            }
        }
        return new Cluster(config, backends);
    }

    private static Backend backend(ClusterConfig config, String name, int weight, InetSocketAddress address, List<InetAddress> sources,
            PortLedger ledger, BackendState.Registry states, @Nullable BackendTls tls) {
        List<UpstreamTuple> tuples = new ArrayList<>();
        if (sources.isEmpty()) {
            tuples.add(ledger.tuple(null, address));
        }
        for (InetAddress source : sources) {
            tuples.add(ledger.tuple(source, address));
        }
        return new Backend(name, weight, address, tuples, states.of(address), tls, config.sendProxyProtocol());
    }

    public String name() {
        return name;
    }

    public List<Backend> backends() {
        return backends;
    }

    /** The backend of this name, or null. */
    public @Nullable Backend backend(String backendName) {
        return byName.get(backendName);
    }

    /** The backend a sticky cookie value names, or null (unknown, or a backend this cluster no longer has). */
    @Nullable Backend bySticky(String cookieValue) {
        return bySticky.get(cookieValue);
    }

    /** The sticky cookie value naming {@code backend}. */
    String stickyId(Backend backend) {
        return stickyIds.get(backend);
    }

    /** What its hash balancer hashes, or null when it has none. */
    public @Nullable HashKey hashKey() {
        return hashKey;
    }

    /** The cookie that names a session's backend, or null when the cluster sets none. */
    public @Nullable String stickyCookie() {
        return stickyCookie;
    }

    public @Nullable HealthCheckSettings healthCheck() {
        return healthCheck;
    }

    public DownPolicy onDown() {
        return onDown;
    }

    /** The balancer's pick among backends not yet tried (healthy ones first), or null when all have been. */
    public @Nullable Backend pick(Set<Backend> tried) {
        return pick(tried, null, false, 0, System.nanoTime());
    }

    /**
     * The backend for one attempt of a request: its sticky backend while that is available; else, for a keyed
     * request of a hash cluster, the first available backend in the key's own order; else the balancer's pick
     * among available ones. Backends in {@code tried} are never picked. When no untried backend is available
     * (all down or ejected), the same again ignoring health: a cluster whose checks all fail (a broken check
     * path, say) still serves, as Envoy's panic mode does.
     */
    @Nullable Backend pick(Set<Backend> tried, @Nullable Backend sticky, boolean keyed, long keyHash, long nowNanos) {
        if (backends.isEmpty()) {
            return null;
        }
        if (sticky != null && !tried.contains(sticky) && sticky.available(nowNanos)) {
            return sticky;
        }
        Predicate<Backend> healthy = b -> !tried.contains(b) && b.available(nowNanos);
        RendezvousHash table = hash;
        if (keyed && table != null) {
            Backend owner = table.pick(keyHash, healthy);
            return owner != null ? owner : table.pick(keyHash, b -> !tried.contains(b));
        }
        Backend picked = balancer.pick(healthy);
        return picked != null ? picked : balancer.pick(b -> !tried.contains(b));
    }

    /** A request on {@code backend} went well: its failure streak ends. */
    void succeeded(Backend backend) {
        backend.state().succeeded();
    }

    /**
     * A request on {@code backend} failed (connect refused or timed out, a 5xx, a response timeout). Enough
     * in a row eject it for base-ejection × its ejections so far (capped, jittered by 10%), unless the
     * cluster has max-ejection of its backends out already. Returns whether this failure ejected it.
     */
    boolean failed(Backend backend, long nowNanos) {
        if (!outlier.enabled()) {
            return false;
        }
        int inARow = backend.state().failed();
        if (inARow < outlier.consecutiveFailures() || backend.ejected(nowNanos)) {
            return false;
        }
        long length;
        int times;
        synchronized (this) { // rare; keeps two loops from ejecting past max-ejection together
            if (ejected(nowNanos) >= maxEjected) {
                return false;
            }
            times = backend.ejections() + 1;
            long base = outlier.baseEjection().toNanos();
            long max = outlier.maxEjectionTime().toNanos();
            long planned = base > max / times ? max : base * times;
            length = planned + (long) (planned * 0.1 * (2 * ThreadLocalRandom.current().nextDouble() - 1));
            backend.state().eject(nowNanos + length);
        }
        log.warn("cluster {}: backend {} ejected for {} ms after {} failures in a row (ejection {})", name, backend,
                length / 1_000_000, inARow, times);
        return true;
    }

    /** Backends with an ejection in force. */
    public int ejected(long nowNanos) {
        int count = 0;
        for (Backend backend : backends) {
            if (backend.ejected(nowNanos)) {
                count++;
            }
        }
        return count;
    }

    @Override
    public String toString() {
        return name + backends;
    }
}
