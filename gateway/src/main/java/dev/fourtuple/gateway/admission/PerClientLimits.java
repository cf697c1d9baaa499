package dev.fourtuple.gateway.admission;

import dev.fourtuple.gateway.config.AdmissionSettings;
import dev.fourtuple.gateway.connection.ClientAddress;
import io.netty.channel.Channel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.function.ToLongFunction;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code admission.per-client}: which client a new connection belongs to ({@link PerClientKey}) and the one
 * {@link PerClientTable} that counts every client, shared by all listening sockets.
 *
 * <p>The table is built the first time a limit is on (at start, or by a reload), with the {@code table-size}
 * and {@code ipv6-prefix} of the start: both shape the table and its keys, so they need a restart. It is
 * kept once built, even when a reload switches both limits off, so that connections admitted meanwhile are
 * still released into it when they close.
 *
 * <p>No key is kept per connection: on close it is computed again from the connection's client address
 * ({@link ClientAddress}). That is the channel's remote address, cached from the accept on
 * ({@code AbstractChannel.remoteAddress()}; only a disconnect, which a TCP child never does, clears it), or
 * on a PROXY protocol listener the header's source, set once before the acquire; {@code ipv6-prefix} is
 * fixed for the table's life, so it is the key that was acquired.
 */
final class PerClientLimits {
    private static final Logger log = LoggerFactory.getLogger(PerClientLimits.class);

    private final AdmissionSettings.PerClient atStart;
    private volatile AdmissionSettings.PerClient settings;
    private volatile @Nullable PerClientTable table;
    // The summary line's state; refresher thread only.
    private boolean summarized;
    private long summarizedAtNanos;
    private long connectionsAtSummary;
    private long rateAtSummary;
    private long fullAtSummary;

    PerClientLimits(AdmissionSettings.PerClient settings) {
        this.atStart = settings;
        this.settings = settings;
        if (settings.enabled()) {
            table = newTable(settings);
        }
    }

    private PerClientTable newTable(AdmissionSettings.PerClient limits) {
        return new PerClientTable(atStart.tableSize(), limits.maxConnections(), limits.connectRate());
    }

    /** New limits (a reload); table-size and ipv6-prefix keep their values from the start. */
    synchronized void reconfigure(AdmissionSettings.PerClient next) {
        PerClientTable current = table;
        if (current != null) {
            current.limits(next.maxConnections(), next.connectRate());
        } else if (next.enabled()) {
            table = newTable(next);
        }
        settings = next;
    }

    /** The table while a limit is on, else null (admit without counting). */
    @Nullable PerClientTable activeTable() {
        return settings.enabled() ? table : null;
    }

    /** The client key of an address. */
    long key(InetAddress address) {
        return PerClientKey.of(address, atStart.ipv6Prefix());
    }

    /** The client IP of a connection, or null for one without (a local or embedded channel: not counted). */
    static @Nullable InetAddress address(Channel child) {
        SocketAddress remote = ClientAddress.of(child);
        return remote instanceof InetSocketAddress ip ? ip.getAddress() : null;
    }

    /** An admitted connection counted in the table closed. */
    void release(Channel child) {
        PerClientTable current = table;
        InetAddress address = address(child);
        if (current != null && address != null) {
            current.release(key(address));
        }
    }

    /** Clients remembered (the table's size; 0 before it is built). */
    int size() {
        PerClientTable current = table;
        return current == null ? 0 : current.size();
    }

    /** Clients with a connection open. */
    int live() {
        PerClientTable current = table;
        return current == null ? 0 : current.live();
    }

    /** The table's capacity, {@code table-size}. */
    int capacity() {
        return atStart.tableSize();
    }

    /**
     * At most one WARN per {@code interval}, and only when per-client limits refused something since the last
     * one: refusals by reason and the table's fill. {@code refusedSoFar} gives the refused counters' totals.
     * Called by the refresher only.
     */
    void summarize(ToLongFunction<Resource> refusedSoFar, long nowNanos, Duration interval) {
        if (summarized && nowNanos - summarizedAtNanos < interval.toNanos()) {
            return;
        }
        long connections = refusedSoFar.applyAsLong(Resource.PER_CLIENT_CONNECTIONS);
        long rate = refusedSoFar.applyAsLong(Resource.PER_CLIENT_RATE);
        long full = refusedSoFar.applyAsLong(Resource.PER_CLIENT_TABLE_FULL);
        long refused = connections - connectionsAtSummary + rate - rateAtSummary + full - fullAtSummary;
        if (refused == 0) {
            return;
        }
        log.warn("admission: per-client limits refused {} connection(s) since the last such line: {} {}, {} {}, {} {}; "
                + "client table {} of {}, {} with connections open", refused,
                connections - connectionsAtSummary, Resource.PER_CLIENT_CONNECTIONS.tag(),
                rate - rateAtSummary, Resource.PER_CLIENT_RATE.tag(),
                full - fullAtSummary, Resource.PER_CLIENT_TABLE_FULL.tag(), size(), capacity(), live());
        summarized = true;
        summarizedAtNanos = nowNanos;
        connectionsAtSummary = connections;
        rateAtSummary = rate;
        fullAtSummary = full;
    }
}
