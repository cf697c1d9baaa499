package dev.fourtuple.gateway.admission;

/**
 * Shedding starts when a measure reaches its high-water mark and ends only when it falls below its low-water
 * mark, so admission does not flap at the edge.
 *
 * <p>Concurrency note: updated from several event loops and the refresher without a lock. Two updates racing
 * can only decide the same transition twice or leave the state one update stale; the next update corrects it.
 */
final class Hysteresis {
    private final double high;
    private final double low;
    private volatile boolean shedding;

    Hysteresis(double high, double low) {
        this.high = high;
        this.low = low;
    }

    /** Feeds a new reading; returns whether the resource is shedding now. */
    boolean update(double reading) {
        if (shedding) {
            if (reading < low) {
                shedding = false;
            }
        } else if (reading >= high) {
            shedding = true;
        }
        return shedding;
    }

    boolean shedding() {
        return shedding;
    }
}
