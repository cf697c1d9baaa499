package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.BackendConfig;
import dev.fourtuple.gateway.config.ClusterConfig;
import dev.fourtuple.gateway.config.DnsSettings;
import dev.fourtuple.gateway.config.GatewayConfig;
import dev.fourtuple.gateway.transport.TransportKind;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.EventLoop;
import io.netty.resolver.dns.DnsNameResolver;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.DnsServerAddressStreamProviders;
import io.netty.resolver.dns.NoopAuthoritativeDnsServerCache;
import io.netty.resolver.dns.NoopDnsCache;
import io.netty.resolver.dns.NoopDnsCnameCache;
import io.netty.resolver.dns.SequentialDnsServerAddressStreamProvider;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resolves the {@code dns:} and {@code srv:} backend entries the config uses, again and again, and keeps the
 * last good answer of each: the {@link Discovered} the clusters are built from.
 *
 * <p>One {@link DnsNameResolver} on one of the gateway's event loops (a datagram channel of the gateway's own
 * transport), one scheduled task per name (never per connection): each name is asked again on the schedule
 * {@link DnsRefresh} sets. A failed lookup (timeout, NXDOMAIN, no usable record) keeps the last good answer
 * and is retried at the next refresh; it is logged once per name and minute, not once per try. When an answer
 * differs from the last good one, {@code changed} runs on a thread of its own (it rebuilds the clusters under
 * the gateway's reload lock, which a reload holds while it reads certificate files: an event loop must not
 * wait for that).
 *
 * <p>Concurrency note: the names, their schedules and the resolver are confined to the loop; what other
 * threads read (the answers, the status) is published as immutable values.
 */
public final class DnsDiscovery implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DnsDiscovery.class);
    /** At most one warning per name per this while it keeps failing. */
    private static final long WARN_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);
    /** Netty's default is 16; a backend name needs no long chase of referrals and CNAMEs. */
    private static final int MAX_QUERIES_PER_LOOKUP = 8;

    private final EventLoop loop;
    private final TransportKind transport;
    private final DnsMeters meters;
    private final ExecutorService applier;
    private final AtomicBoolean applyPending = new AtomicBoolean();
    private volatile Runnable changed = () -> { };
    private volatile Snapshot snapshot = Snapshot.EMPTY;
    private final Map<BackendConfig.DnsName, DnsNameStatus> statuses = new ConcurrentHashMap<>();

    // Confined to the loop.
    private final Map<BackendConfig.DnsName, NameState> names = new HashMap<>();
    private @Nullable DnsSettings settings;
    private @Nullable DnsNameResolver resolver;
    private @Nullable DnsLookup lookup;
    /** +1 per resolver: an outcome of a replaced resolver is not an answer of the current one. */
    private int generation;
    private boolean closed;

    /** One name's schedule and last good answer. */
    private static final class NameState {
        final BackendConfig.DnsName name;
        final Promise<Void> first;
        @Nullable ScheduledFuture<?> next;
        @Nullable DnsAnswer lastGood;
        @Nullable Instant answeredAt;
        @Nullable String lastError;
        @Nullable Instant lastErrorAt;
        int failing;
        long lastWarnNanos;
        int suppressed;
        volatile int addresses;

        NameState(BackendConfig.DnsName name, Promise<Void> first) {
            this.name = name;
            this.first = first;
        }
    }

    /** The answers as one immutable value: equal when every name's answer is. */
    private record Snapshot(Map<BackendConfig.DnsName, List<Discovered.Address>> answers) implements Discovered {
        static final Snapshot EMPTY = new Snapshot(Map.of());

        @Override
        public List<Address> of(BackendConfig.DnsName name) {
            return answers.getOrDefault(name, List.of());
        }
    }

    private DnsDiscovery(EventLoop loop, TransportKind transport, MeterRegistry registry) {
        this.loop = loop;
        this.transport = transport;
        this.meters = new DnsMeters(registry);
        this.applier = Executors.newSingleThreadExecutor(new DefaultThreadFactory("fourtuple-dns-apply", true));
    }

    /** Resolves nothing yet: {@link #track} names what to resolve. */
    public static DnsDiscovery start(EventLoop loop, TransportKind transport, MeterRegistry registry) {
        return new DnsDiscovery(loop, transport, registry);
    }

    /** The DNS names the config's clusters use. */
    public static Set<BackendConfig.DnsName> namesOf(GatewayConfig config) {
        Set<BackendConfig.DnsName> names = new LinkedHashSet<>();
        for (ClusterConfig cluster : config.clusters().values()) {
            for (BackendConfig backend : cluster.backends()) {
                if (backend.dns() != null) {
                    names.add(backend.dns());
                }
            }
        }
        return names;
    }

    /**
     * From now on, runs {@code changed} (on a thread of its own, one run at a time) whenever an answer
     * changes, and once now: what changed before it was set is not lost.
     */
    public void onChange(Runnable changed) {
        this.changed = changed;
        requestApply();
    }

    /**
     * Resolves from now on exactly {@code wanted}, with {@code settings} (a change of them makes a new
     * resolver and asks every name again): names no longer wanted stop, new ones start. Waits up to
     * {@code settings.timeout()} for the first outcome of the new names (not when called on the resolver's
     * loop, which would wait for itself), so that a start or reload that adds a name builds its clusters with
     * its answer. Answers already in hand stay.
     */
    public void track(Set<BackendConfig.DnsName> wanted, DnsSettings settings) {
        Set<BackendConfig.DnsName> copy = Set.copyOf(wanted);
        Promise<Void> firsts = loop.newPromise();
        try {
            loop.execute(() -> trackOnLoop(copy, settings, firsts));
        } catch (RejectedExecutionException e) { // stopping
            return;
        }
        if (!loop.inEventLoop()) {
            firsts.awaitUninterruptibly(settings.timeout().toMillis());
        }
    }

    private void trackOnLoop(Set<BackendConfig.DnsName> wanted, DnsSettings next, Promise<Void> firsts) {
        if (closed) {
            firsts.trySuccess(null);
            return;
        }
        // No socket, no resolv.conf read, while the config names no DNS backend.
        boolean renewed = !wanted.isEmpty() && (resolver == null || !next.equals(settings));
        if (renewed) {
            renewResolver(next);
        } else if (wanted.isEmpty() && resolver != null) {
            resolver.close();
            resolver = null;
            lookup = null;
            settings = null;
            generation++;
        }
        boolean removed = false;
        for (Iterator<NameState> it = names.values().iterator(); it.hasNext(); ) {
            NameState state = it.next();
            if (!wanted.contains(state.name)) {
                cancel(state);
                it.remove();
                statuses.remove(state.name);
                meters.untrack(state.name);
                removed = true;
            }
        }
        List<Future<Void>> pending = new ArrayList<>();
        for (BackendConfig.DnsName name : wanted) {
            NameState state = names.get(name);
            if (state == null) {
                state = new NameState(name, loop.newPromise());
                names.put(name, state);
                meters.track(name, state, s -> s.addresses);
                publishStatus(state);
                pending.add(state.first);
                query(state);
            } else if (renewed) {
                cancel(state);
                query(state);
            }
        }
        if (removed) {
            // Not applied on their own: the reload that stopped using them rebuilds the clusters anyway.
            snapshot = snapshotOf(names);
        }
        if (!names.isEmpty() && renewed) {
            log.info("dns: resolving {} name(s) through {}, timeout {} ms, refresh after min(TTL, {} ms), at least "
                    + "{} ms", names.size(), next.resolvers().isEmpty() ? "the nameservers of /etc/resolv.conf"
                            : next.resolvers(), next.timeout().toMillis(), next.maxRefresh().toMillis(),
                    next.minRefresh().toMillis());
        }
        int[] left = {pending.size()};
        if (left[0] == 0) {
            firsts.trySuccess(null);
        }
        for (Future<Void> first : pending) {
            first.addListener(f -> {
                if (--left[0] == 0) {
                    firsts.trySuccess(null);
                }
            });
        }
    }

    private void renewResolver(DnsSettings next) {
        if (resolver != null) {
            resolver.close(); // its lookups in flight fail, and are ignored: see generation
        }
        settings = next;
        generation++;
        DnsNameResolver built = new DnsNameResolverBuilder(loop)
                .datagramChannelFactory(transport.datagramChannelFactory())
                .nameServerProvider(next.resolvers().isEmpty() ? DnsServerAddressStreamProviders.platformDefault()
                        : new SequentialDnsServerAddressStreamProvider(next.resolvers()))
                .queryTimeoutMillis(next.timeout().toMillis())
                // This class keeps the answers and asks again on its own schedule: a cache would answer a
                // refresh with what it already has, and hide a change for up to its TTL.
                .resolveCache(NoopDnsCache.INSTANCE)
                .cnameCache(NoopDnsCnameCache.INSTANCE)
                .authoritativeDnsServerCache(NoopAuthoritativeDnsServerCache.INSTANCE)
                .maxQueriesPerResolve(MAX_QUERIES_PER_LOOKUP)
                .build();
        resolver = built;
        lookup = new DnsLookup(built, loop);
    }

    private void query(NameState state) {
        DnsLookup current = lookup;
        if (closed || current == null) {
            return;
        }
        int asked = generation;
        current.lookup(state.name).addListener((Future<DnsAnswer> outcome) -> outcome(state, asked, outcome));
    }

    private void outcome(NameState state, int asked, Future<DnsAnswer> outcome) {
        if (closed || asked != generation || names.get(state.name) != state) {
            return; // a stopped name, or a replaced resolver (the name was asked again through the new one)
        }
        DnsSettings current = settings != null ? settings : DnsSettings.DEFAULT; // set while its resolver is
        if (outcome.isSuccess()) {
            meters.answered();
            answered(state, outcome.getNow());
        } else {
            meters.failed();
            failed(state, DnsLookup.reason(outcome.cause()));
        }
        long ttl = state.lastGood == null ? -1 : state.lastGood.ttlSeconds();
        Duration planned = DnsRefresh.planned(current, ttl, state.failing);
        long delay = DnsRefresh.jitteredNanos(planned, ThreadLocalRandom.current().nextDouble());
        state.next = loop.schedule(() -> query(state), delay, TimeUnit.NANOSECONDS);
        publishStatus(state);
        state.first.trySuccess(null);
    }

    private void answered(NameState state, DnsAnswer answer) {
        if (state.failing > 0 && state.lastWarnNanos != 0) {
            log.info("{}: DNS answers again after {} failed quer(ies)", state.name, state.failing);
        }
        boolean changed = state.lastGood == null || !state.lastGood.addresses().equals(answer.addresses());
        state.lastGood = answer;
        state.answeredAt = Instant.now();
        state.failing = 0;
        state.lastWarnNanos = 0;
        state.suppressed = 0;
        state.addresses = answer.addresses().size();
        log.debug("{}: DNS answered {} (TTL {} s)", state.name, DnsAnswer.describe(answer.addresses()), answer.ttlSeconds());
        if (changed) {
            snapshot = snapshotOf(names);
            requestApply();
        }
    }

    private void failed(NameState state, String reason) {
        state.failing++;
        state.lastError = reason;
        state.lastErrorAt = Instant.now();
        long now = System.nanoTime();
        if (state.lastWarnNanos != 0 && now - state.lastWarnNanos < WARN_INTERVAL_NANOS) {
            state.suppressed++;
            return;
        }
        String more = state.suppressed > 0 ? " (+" + state.suppressed + " more since the last line)" : "";
        state.lastWarnNanos = now;
        state.suppressed = 0;
        DnsAnswer kept = state.lastGood;
        log.warn("{}: DNS lookup failed: {}; {}{}", state.name, reason, kept == null
                ? "no answer yet, its cluster has no backends from it"
                : "keeping the last good answer " + DnsAnswer.describe(kept.addresses()), more);
    }

    private static Snapshot snapshotOf(Map<BackendConfig.DnsName, NameState> names) {
        Map<BackendConfig.DnsName, List<Discovered.Address>> answers = new HashMap<>();
        names.forEach((name, state) -> {
            if (state.lastGood != null) {
                answers.put(name, state.lastGood.addresses());
            }
        });
        return new Snapshot(Map.copyOf(answers));
    }

    private void publishStatus(NameState state) {
        DnsAnswer good = state.lastGood;
        List<String> shown = good == null ? List.of() : good.addresses().stream().map(DnsAnswer::label).toList();
        statuses.put(state.name, new DnsNameStatus(state.name.toString(), shown, good == null ? -1
                : good.ttlSeconds(), state.answeredAt, state.lastError, state.lastErrorAt, state.failing));
    }

    /** Coalesces: however many answers change meanwhile, one run applies the latest snapshot. */
    private void requestApply() {
        if (!applyPending.compareAndSet(false, true)) {
            return;
        }
        try {
            applier.execute(() -> {
                applyPending.set(false); // a change from now on runs it once more
                try {
                    changed.run();
                } catch (RuntimeException e) {
                    log.warn("dns: applying the new answers failed; the clusters stay as they were", e);
                }
            });
        } catch (RejectedExecutionException e) { // closed
            applyPending.set(false);
        }
    }

    private static void cancel(NameState state) {
        ScheduledFuture<?> next = state.next;
        if (next != null) {
            next.cancel(false);
        }
        state.first.trySuccess(null);
    }

    /** The last good answer of every name resolved. */
    public Discovered snapshot() {
        return snapshot;
    }

    /** Per name: the last answer, its TTL and age, the last error; sorted by name. */
    public List<DnsNameStatus> status() {
        List<DnsNameStatus> all = new ArrayList<>(statuses.values());
        all.sort(Comparator.comparing(DnsNameStatus::name));
        return all;
    }

    /** Stops every schedule and the resolver; answers no longer change. */
    @Override
    public void close() {
        applier.shutdownNow();
        try {
            loop.execute(() -> {
                closed = true;
                names.values().forEach(DnsDiscovery::cancel);
                if (resolver != null) {
                    resolver.close();
                }
            });
        } catch (RejectedExecutionException e) {
            // the loop is gone, and with it the resolver's channel and the schedules
        }
    }
}
