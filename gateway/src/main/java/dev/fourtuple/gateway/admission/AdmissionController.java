package dev.fourtuple.gateway.admission;

import dev.fourtuple.gateway.config.AdmissionSettings;
import dev.fourtuple.gateway.host.FileDescriptors;
import dev.fourtuple.gateway.timeout.TimerWheel;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides, for each new connection, whether the gateway can afford it, and says why not.
 *
 * <p>Fast checks run per accept from counters and atomics (free fds, connection count, Netty's direct memory);
 * slow gauges (the real fd count, {@code fs.file-nr}, heap after the last GC, kernel TCP memory, the cgroup)
 * are re-read by one refresher thread every {@code refresh-interval} into {@link HeadroomReadings}. Each
 * resource sheds with hysteresis ({@link Hysteresis}); the gateway is shedding while any resource is.
 *
 * <p>Logging: one WARN when shedding starts (naming the resource and its figures), one when it ends, and
 * at most one per {@code log-interval} while it lasts, with the number refused meanwhile.
 */
public final class AdmissionController implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdmissionController.class);
    private static final long MIN_RESERVE = 64;
    private static final long MIN_HARD_FLOOR = 16;

    private final HeadroomReadings readings;
    private volatile LongSupplier pendingBytes = () -> 0;
    private final AtomicInteger admitted = new AtomicInteger();
    private final ChannelFutureListener onAdmittedClose = future -> admitted.decrementAndGet();
    private final PerClientLimits perClient;
    /** The close listener of a connection that its client's entry counts: one listener, both releases. */
    private final ChannelFutureListener onAdmittedClientClose;
    /** The close listener of a connection counted by {@link #admitClient} (admitted at accept already). */
    private final ChannelFutureListener onClientClose;
    private final @Nullable FdBudget fds;
    private final AtomicInteger refusing = new AtomicInteger();
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicReference<@Nullable Resource> sheddingFor = new AtomicReference<>();
    private final AdmissionMeters meters;
    private final ScheduledExecutorService refresher;
    private volatile Thresholds thresholds;
    private volatile long lastLogNanos;
    private volatile long refusedAtLastLog;

    /** Everything derived from the settings; replaced as a whole on reload (shedding states start afresh). */
    private static final class Thresholds {
        final AdmissionSettings settings;
        final long fdReserve;
        final long fdHardFloor;
        final Hysteresis fdState;
        final @Nullable Hysteresis connectionState;
        final Hysteresis directState;
        final Hysteresis heapState;
        final Hysteresis tcpState;
        final Hysteresis cgroupState;
        final @Nullable TokenBucket acceptBucket;
        final RefusalResponses refusals;

        Thresholds(AdmissionSettings settings, long fdLimit) {
            this.settings = settings;
            this.fdReserve = settings.fdReserve() > 0 ? settings.fdReserve() : Math.max(MIN_RESERVE, fdLimit / 100);
            this.fdHardFloor = settings.fdHardFloor() > 0 ? settings.fdHardFloor()
                    : Math.max(MIN_HARD_FLOOR, fdReserve / 4);
            // Reading: fds in use. Shed with fewer than reserve free (used > limit - reserve); accept again with
            // twice that free (used <= limit - 2 x reserve), or, when the limit is too small for that, below
            // half the shedding mark.
            long shedAt = fdLimit - fdReserve + 1;
            this.fdState = new Hysteresis(shedAt, Math.max(shedAt / 2, fdLimit - 2 * fdReserve + 1));
            int max = settings.maxConnections();
            this.connectionState = max > 0 ? new Hysteresis(max, Math.max(1, max - Math.max(1, max / 100))) : null;
            this.directState = new Hysteresis(settings.direct().high(), settings.direct().low());
            this.heapState = new Hysteresis(settings.heap().high(), settings.heap().low());
            this.tcpState = new Hysteresis(settings.tcpMemory().high(), settings.tcpMemory().low());
            this.cgroupState = new Hysteresis(settings.cgroupMemory().high(), settings.cgroupMemory().low());
            this.acceptBucket = settings.acceptRate() > 0 ? new TokenBucket(settings.acceptRate()) : null;
            this.refusals = new RefusalResponses(settings.retryAfter(), settings.retryAfterJitter());
        }
    }

    /**
     * @param upstream upstream connections open now (those beyond one per client connection sit idle in pools
     *                 and cost fds of their own)
     */
    public AdmissionController(AdmissionSettings settings, MeterRegistry registry, LongSupplier upstream,
            Path procRoot, Path cgroupRoot) {
        this.readings = new HeadroomReadings(procRoot, cgroupRoot);
        // Each admitted client connection is charged 2 fds from the moment it is admitted (itself and its
        // backend connection, which does not exist yet); refused ones hold 1 while they get their 503, and so
        // does each accepted connection held back by the accept rate while it waits.
        LongSupplier chargedWithRefusals = () -> {
            long clients = admitted.get();
            return 2 * clients + Math.max(0, upstream.getAsLong() - clients) + refusing.get() + waiting.get();
        };
        FdBudget budget = null;
        try {
            long limit = FileDescriptors.openFilesLimit(procRoot);
            if (limit > 0) {
                budget = new FdBudget(limit, chargedWithRefusals, FileDescriptors.countOpen(procRoot));
            }
        } catch (IOException | RuntimeException e) {
            log.warn("admission: cannot read the open-files limit ({}); fds are not watched", e.toString());
        }
        this.fds = budget;
        this.thresholds = new Thresholds(settings, budget == null ? 0 : budget.limit());
        PerClientLimits clients = new PerClientLimits(settings.perClient());
        this.perClient = clients;
        this.onAdmittedClientClose = future -> {
            admitted.decrementAndGet();
            clients.release(future.channel());
        };
        this.onClientClose = future -> clients.release(future.channel());
        this.meters = new AdmissionMeters(registry, this);
        refresh();
        this.refresher = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "fourtuple-admission");
            thread.setDaemon(true);
            return thread;
        });
        long period = settings.refreshInterval().toMillis();
        refresher.scheduleAtFixedRate(this::refreshSafely, period, period, TimeUnit.MILLISECONDS);
        logStart();
    }

    private void logStart() {
        Thresholds t = thresholds;
        FdBudget budget = fds;
        if (!t.settings.enabled()) {
            log.info("admission: disabled (admission.enabled = false)");
        } else if (budget != null) {
            log.info("admission: fd limit {}, {} fds open at start, reserve {}, hard floor {}: room for about {} "
                    + "proxied connections", budget.limit(), budget.others(), t.fdReserve, t.fdHardFloor,
                    Math.max(0, (budget.limit() - budget.others() - t.fdReserve) / 2));
        }
    }

    /**
     * New thresholds (a reload). Admitted connections are untouched; whether to shed is decided afresh.
     * {@code enabled}, {@code refresh-interval} and whether an accept rate exists at all need a restart, because
     * the listening sockets' handlers and the refresher were set up for them; so do {@code per-client.table-size}
     * and {@code per-client.ipv6-prefix} (see {@link PerClientLimits}).
     */
    public void reconfigure(AdmissionSettings settings) {
        FdBudget budget = fds;
        thresholds = new Thresholds(settings, budget == null ? 0 : budget.limit());
        perClient.reconfigure(settings.perClient());
    }

    /**
     * Memory the cgroup's reading cannot show yet and admission charges anyway: TLS handshakes in flight at
     * their peak (each is tens of KB of engine memory outside heap and direct memory, and a burst of them
     * arrives between two readings). Established engines are in the reading itself.
     */
    public void chargePending(LongSupplier bytes) {
        this.pendingBytes = bytes;
    }

    /** True when admission is on. */
    public boolean enabled() {
        return thresholds.settings.enabled();
    }

    /** The handler for one listening socket's pipeline (each socket its own; they share the accept rate). */
    public ChannelHandler acceptHandler() {
        return acceptHandler(AcceptGate.NONE);
    }

    /** The handler for one listening socket that also pauses while {@code gate} is shut. */
    public ChannelHandler acceptHandler(AcceptGate gate) {
        return acceptHandler(gate, true);
    }

    /**
     * As {@link #acceptHandler(AcceptGate)}; {@code perClientAtAccept} false for a listener whose client
     * address is known only later (the PROXY protocol's header): its connections then pass the gateway's own
     * limits at accept and the per-client ones in {@link #admitClient}.
     */
    public ChannelHandler acceptHandler(AcceptGate gate, boolean perClientAtAccept) {
        return new AdmissionAcceptHandler(this, gate, perClientAtAccept);
    }

    /** The accept-rate bucket, or null when there is no accept rate. */
    @Nullable TokenBucket acceptBucket() {
        return thresholds.acceptBucket;
    }

    /** Whether connections over the accept rate get a 503 rather than a wait. */
    boolean refuseExcess() {
        return thresholds.settings.refuseExcess();
    }

    /** The whole pipeline of a connection marked {@link AdmissionAcceptHandler#REFUSED}. */
    public ChannelHandler refusalHandler(TimerWheel wheel) {
        return new RefusalHandler(this, thresholds.refusals, wheel);
    }

    /** Below the fd hard floor: the new connection must be reset without being read or answered. */
    public boolean belowHardFloor() {
        FdBudget budget = fds;
        Thresholds t = thresholds;
        return t.settings.enabled() && budget != null && budget.free() < t.fdHardFloor;
    }

    /** Null to admit a new connection, else the resource that refuses it. Cheap: called for every accept. */
    public @Nullable Resource check() {
        Thresholds t = thresholds;
        if (!t.settings.enabled()) {
            return null;
        }
        Resource reason = firstShedding(t);
        note(reason);
        return reason;
    }

    private @Nullable Resource firstShedding(Thresholds t) {
        FdBudget budget = fds;
        boolean fdShort = budget != null && t.fdState.update(budget.limit() - budget.free());
        if (fdShort || readings.systemFilesShort()) {
            return Resource.FDS;
        }
        Hysteresis cap = t.connectionState;
        if (cap != null && cap.update(admitted.get())) {
            return Resource.CONNECTIONS;
        }
        if (t.directState.update(HeadroomReadings.directUsed())) {
            return Resource.DIRECT_MEMORY;
        }
        if (t.heapState.update(readings.heapUsed())) {
            return Resource.HEAP;
        }
        if (t.tcpState.update(readings.tcpUsed())) {
            return Resource.TCP_MEMORY;
        }
        if (t.cgroupState.update(readings.cgroupUsed(pendingBytes.getAsLong()))) {
            return Resource.CGROUP_MEMORY;
        }
        return null;
    }

    /**
     * Admits a new connection, or says why not: the gateway's own limits ({@link #check()}), then its
     * client's ({@code per-client}). An admitted connection counts from now until it closes (and against its
     * client, when the per-client limits are on). Cheap: called for every accept.
     */
    @Nullable Resource admit(Channel child, long nowNanos, boolean perClientAtAccept) {
        Resource reason = check();
        if (reason != null) {
            return reason;
        }
        if (!perClientAtAccept) {
            admitted(child);
            return null;
        }
        PerClientTable clients = perClient.activeTable();
        InetAddress address = clients == null ? null : PerClientLimits.address(child);
        if (clients == null || address == null) {
            admitted(child);
            return null;
        }
        Resource refused = clients.tryAcquire(perClient.key(address), nowNanos);
        if (refused == null) {
            admitted.incrementAndGet();
            child.closeFuture().addListener(onAdmittedClientClose);
        }
        return refused;
    }

    /**
     * The per-client limits for a connection admitted at accept without them, now that its client address
     * ({@link dev.fourtuple.gateway.connection.ClientAddress}) is known: null when admitted (its client's entry
     * counts it until it closes), else the limit that refuses it (counted as refused; the caller refuses it).
     * Must run on the connection's loop, at most once per connection.
     */
    public @Nullable Resource admitClient(Channel child, long nowNanos) {
        if (!thresholds.settings.enabled()) {
            return null;
        }
        PerClientTable clients = perClient.activeTable();
        InetAddress address = clients == null ? null : PerClientLimits.address(child);
        if (clients == null || address == null) {
            return null;
        }
        Resource refused = clients.tryAcquire(perClient.key(address), nowNanos);
        if (refused == null) {
            child.closeFuture().addListener(onClientClose);
        } else {
            refused(refused);
        }
        return refused;
    }

    /** A client connection was admitted: it counts (and is charged its fds) until it closes. */
    public void admitted(Channel child) {
        admitted.incrementAndGet();
        child.closeFuture().addListener(onAdmittedClose);
    }

    /** The per-client limits and their table. */
    PerClientLimits perClient() {
        return perClient;
    }

    /** An accepted connection waits for the accept rate (it holds an fd). Pair with {@link #waitingEnded}. */
    void waitingStarted() {
        waiting.incrementAndGet();
    }

    void waitingEnded() {
        waiting.decrementAndGet();
    }

    /** Accepted connections held back by the accept rate now, over all listening sockets. */
    public long waitingForRate() {
        return waiting.get();
    }

    /** Refused connections still open while they get their 503 (each holds an fd for up to a second). */
    public long refusalsInFlight() {
        return refusing.get();
    }

    /** Client connections admitted and still open. */
    public long admittedConnections() {
        return admitted.get();
    }

    /** A connection was refused (503) for the reason given. */
    public void refused(Resource reason) {
        meters.refused(reason);
    }

    /** A connection was reset unread under the fd hard floor. */
    public void reset() {
        meters.reset();
        note(Resource.FDS);
    }

    /** A refused connection is open while it gets its 503 (it holds an fd). Pair with {@link #refusalClosed}. */
    public void refusalOpened() {
        refusing.incrementAndGet();
    }

    public void refusalClosed() {
        refusing.decrementAndGet();
    }

    /**
     * accept() failed (e.g. EMFILE despite the budget: another fd consumer), or, not an IOException, something
     * on the listening socket's pipeline threw (a bug: logged with its stack trace, not counted as an accept
     * error). At most one line per log-interval either way.
     */
    public void acceptFailed(Throwable cause) {
        boolean io = cause instanceof IOException;
        if (io) {
            meters.acceptError();
        }
        long now = System.nanoTime();
        if (now - lastLogNanos > thresholds.settings.logInterval().toNanos()) {
            lastLogNanos = now;
            if (io) {
                log.warn("admission: accept() failed ({}); accepting pauses for a second", cause.getMessage());
            } else {
                log.warn("admission: unexpected error on a listening socket; accepting pauses for a second", cause);
            }
        }
    }

    /** True while new connections are being refused. */
    public boolean shedding() {
        return sheddingFor.get() != null;
    }

    /** The free fraction of a resource's limit, 0..1; 1 where the limit does not apply. */
    public double headroom(Resource resource) {
        return switch (resource) {
            case FDS -> fds == null ? 1 : clamp((double) fds.free() / fds.limit());
            case CONNECTIONS -> thresholds.settings.maxConnections() <= 0 ? 1
                    : clamp(1 - (double) admitted.get() / thresholds.settings.maxConnections());
            case HEAP -> clamp(1 - readings.heapUsed());
            case DIRECT_MEMORY -> clamp(1 - HeadroomReadings.directUsed());
            case TCP_MEMORY -> clamp(1 - readings.tcpUsed());
            case CGROUP_MEMORY -> clamp(1 - readings.cgroupUsed(pendingBytes.getAsLong()));
            case ACCEPT_RATE, PER_CLIENT_CONNECTIONS, PER_CLIENT_RATE, PER_CLIENT_TABLE_FULL -> 1;
        };
    }

    /** Free fds now (for status and tests), or -1 when fds are not watched. */
    public long freeFds() {
        FdBudget budget = fds;
        return budget == null ? -1 : budget.free();
    }

    private void note(@Nullable Resource reason) {
        if (sheddingFor.get() == reason) {
            return; // the common case, read-only: no write shared between loops per accept
        }
        Resource before = sheddingFor.getAndSet(reason);
        if (before == reason) {
            return;
        }
        if (reason != null && before == null) {
            lastLogNanos = System.nanoTime();
            refusedAtLastLog = meters.refusedTotal();
            log.warn("admission: shedding new connections: {} ({})", reason.tag(), figures(reason));
        } else if (reason == null) {
            log.warn("admission: accepting new connections again ({} refused while shedding)",
                    meters.refusedTotal() - refusedAtLastLog);
        }
    }

    private String figures(Resource resource) {
        FdBudget budget = fds;
        Thresholds t = thresholds;
        AdmissionSettings settings = t.settings;
        long fdReserve = t.fdReserve;
        return switch (resource) {
            case FDS -> budget == null ? "system fs.file-nr short"
                    : budget.free() + " fds free of " + budget.limit() + ", reserve " + fdReserve
                    + (readings.systemFilesShort() ? ", system fs.file-nr short" : "");
            case CONNECTIONS -> admitted.get() + " connections, max-connections " + settings.maxConnections();
            case DIRECT_MEMORY -> percent(HeadroomReadings.directUsed()) + " of max direct memory";
            case HEAP -> percent(readings.heapUsed()) + " of max heap after GC";
            case TCP_MEMORY -> percent(readings.tcpUsed()) + " of net.ipv4.tcp_mem pressure";
            case CGROUP_MEMORY -> percent(readings.cgroupUsed(pendingBytes.getAsLong())) + " of the cgroup's memory limit";
            case ACCEPT_RATE -> "accept-rate " + settings.acceptRate() + "/s";
            case PER_CLIENT_CONNECTIONS -> "per-client.max-connections " + settings.perClient().maxConnections();
            case PER_CLIENT_RATE -> "per-client.connect-rate " + settings.perClient().connectRate() + "/s";
            case PER_CLIENT_TABLE_FULL -> "per-client table " + perClient.live() + " of " + perClient.capacity()
                    + " with connections open";
        };
    }

    private void refreshSafely() {
        try {
            refresh();
        } catch (RuntimeException e) {
            log.warn("admission: refresh failed: {}", e.toString());
        }
    }

    /** Re-reads the slow gauges and logs a reminder while shedding. Runs on the refresher thread. */
    void refresh() {
        readings.refresh(fds, thresholds.fdReserve);
        Thresholds t = thresholds;
        if (!t.settings.enabled()) {
            return;
        }
        Resource reason = firstShedding(t);
        note(reason);
        long now = System.nanoTime();
        perClient.summarize(meters::refusedCount, now, t.settings.logInterval());
        if (reason != null && now - lastLogNanos >= t.settings.logInterval().toNanos()) {
            long total = meters.refusedTotal();
            log.warn("admission: still shedding ({}: {}); {} refused in the last {} s", reason.tag(), figures(reason),
                    total - refusedAtLastLog, (now - lastLogNanos) / 1_000_000_000L);
            lastLogNanos = now;
            refusedAtLastLog = total;
        }
    }

    private static double clamp(double value) {
        return Math.max(0, Math.min(1, value));
    }

    private static String percent(double fraction) {
        return Math.round(fraction * 100) + "%";
    }

    @Override
    public void close() {
        refresher.shutdownNow();
    }
}
