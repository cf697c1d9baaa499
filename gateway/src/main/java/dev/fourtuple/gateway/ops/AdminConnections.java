package dev.fourtuple.gateway.ops;

import dev.fourtuple.gateway.config.AdminSettings;
import dev.fourtuple.gateway.timeout.TimerWheel;

/**
 * The admin loop's connections: how many are open against {@code admin.max-connections}, and the one
 * {@link TimerWheel} that times all of them (header-timeout, idle-timeout, the linger of a polite close).
 *
 * <p>Concurrency note: confined to the admin server's single event loop, like the wheel; plain fields.
 */
final class AdminConnections {
    private final TimerWheel wheel;
    private final long headerTimeoutNanos;
    private final long idleTimeoutNanos;
    private final int maxConnections;
    private int open;

    AdminConnections(TimerWheel wheel, AdminSettings settings) {
        this.wheel = wheel;
        this.headerTimeoutNanos = settings.headerTimeout().toNanos();
        this.idleTimeoutNanos = settings.idleTimeout().toNanos();
        this.maxConnections = settings.maxConnections();
    }

    TimerWheel wheel() {
        return wheel;
    }

    long headerTimeoutNanos() {
        return headerTimeoutNanos;
    }

    /** 0 = idle connections are never closed. */
    long idleTimeoutNanos() {
        return idleTimeoutNanos;
    }

    /** Counts a new connection in, or says no when max-connections are open. */
    boolean admit() {
        if (open >= maxConnections) {
            return false;
        }
        open++;
        return true;
    }

    /** An admitted connection closed. */
    void closed() {
        open--;
    }
}
