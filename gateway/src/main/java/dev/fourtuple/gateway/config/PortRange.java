package dev.fourtuple.gateway.config;

import org.jspecify.annotations.Nullable;

/** An inclusive range of ports, e.g. the ephemeral range. */
public record PortRange(int low, int high) {

    public PortRange {
        if (low < 1 || high > 65535 || low > high) {
            throw new IllegalArgumentException("port range: " + low + "-" + high);
        }
    }

    public int size() {
        return high - low + 1;
    }

    /** The overlap of two ranges, or null when they do not overlap. */
    public @Nullable PortRange intersect(PortRange other) {
        int lo = Math.max(low, other.low);
        int hi = Math.min(high, other.high);
        return lo <= hi ? new PortRange(lo, hi) : null;
    }

    @Override
    public String toString() {
        return low + "-" + high;
    }
}
