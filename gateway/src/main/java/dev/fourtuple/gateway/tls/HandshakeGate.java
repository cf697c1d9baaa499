package dev.fourtuple.gateway.tls;

import dev.fourtuple.gateway.admission.AcceptGate;
import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import org.jspecify.annotations.Nullable;

/**
 * The handshakes in flight on one listening socket, and the gate that pauses its accepting at
 * {@code tls.max-concurrent-handshakes}: the next connections wait in the kernel's accept queue, and are not
 * refused, until a handshake ends. A handshake costs tens of KB and most of its CPU before the first byte of
 * HTTP, so a burst of them is what would otherwise sink the gateway (RFC 8446 §4 makes the server do the
 * expensive part first).
 *
 * <p>With a native transport each loop has its own listening socket, so the maximum is per loop as
 * configured; with NIO one socket feeds every loop and its gate allows the maximum times the loops.
 * Counted from any loop (NIO's children live on other loops than their socket).
 */
final class HandshakeGate implements AcceptGate {
    /** On a listening channel: its gate, for the connections it accepts. */
    static final AttributeKey<HandshakeGate> KEY = AttributeKey.valueOf("fourtuple.tls.handshake-gate");

    private final IntSupplier perSocketMaximum;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile @Nullable Runnable changed;
    /** Set when the gate told its socket it is shut; the next finish that finds it open says so. */
    private volatile boolean reportedShut;

    HandshakeGate(IntSupplier perSocketMaximum) {
        this.perSocketMaximum = perSocketMaximum;
    }

    /** The gate of the socket that accepted {@code child}, or null when it was accepted without one. */
    static @Nullable HandshakeGate of(Channel child) {
        Channel parent = child.parent();
        return parent == null || !parent.hasAttr(KEY) ? null : parent.attr(KEY).get();
    }

    @Override
    public boolean shut() {
        return inFlight.get() >= perSocketMaximum.getAsInt();
    }

    @Override
    public void attach(Channel listening, Runnable onChange) {
        this.changed = onChange;
        listening.attr(KEY).set(this);
    }

    void started() {
        if (inFlight.incrementAndGet() >= perSocketMaximum.getAsInt()) {
            reportedShut = true;
            notifyChanged();
        }
    }

    void finished() {
        inFlight.decrementAndGet();
        // Not "was the count at the limit": a reload may have raised the limit since the gate shut.
        if (reportedShut && !shut()) {
            reportedShut = false;
            notifyChanged();
        }
    }

    /** Re-evaluates the socket's accepting (a reload changed the maximum). */
    void notifyChanged() {
        if (!shut()) {
            reportedShut = false;
        }
        Runnable r = changed;
        if (r != null) {
            r.run();
        }
    }
}
