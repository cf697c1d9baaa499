package dev.fourtuple.gateway.admission;

import java.util.Locale;

/**
 * Why a connection was refused: a tag value of {@code fourtuple.admission.refused}; those with a headroom
 * ({@link #hasHeadroom()}) are also the resources of {@code fourtuple.admission.headroom}.
 */
public enum Resource {
    FDS, CONNECTIONS, HEAP, DIRECT_MEMORY, TCP_MEMORY, CGROUP_MEMORY, ACCEPT_RATE,
    /** The client has {@code per-client.max-connections} open. */
    PER_CLIENT_CONNECTIONS,
    /** The client's {@code per-client.connect-rate} bucket is empty. */
    PER_CLIENT_RATE,
    /** A new client, and every entry of the per-client table has a connection open. */
    PER_CLIENT_TABLE_FULL;

    /** The tag value, e.g. {@code direct-memory}, {@code per-client-rate}. */
    public String tag() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** A limit of one client, not of the gateway: refusing for it is not shedding. */
    public boolean perClient() {
        return this == PER_CLIENT_CONNECTIONS || this == PER_CLIENT_RATE || this == PER_CLIENT_TABLE_FULL;
    }

    /** A gateway-wide resource with a free fraction to report (not a rate, not a per-client limit). */
    public boolean hasHeadroom() {
        return this != ACCEPT_RATE && !perClient();
    }
}
