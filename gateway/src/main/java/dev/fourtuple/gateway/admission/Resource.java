package dev.fourtuple.gateway.admission;

import java.util.Locale;

/** What admission watches; each is a tag value of {@code fourtuple.admission.headroom} and {@code .refused}. */
public enum Resource {
    FDS, CONNECTIONS, HEAP, DIRECT_MEMORY, TCP_MEMORY, CGROUP_MEMORY, ACCEPT_RATE;

    /** The tag value, e.g. {@code direct_memory}. */
    public String tag() {
        return name().toLowerCase(Locale.ROOT);
    }
}
