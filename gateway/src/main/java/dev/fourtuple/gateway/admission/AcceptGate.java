package dev.fourtuple.gateway.admission;

import io.netty.channel.Channel;

/**
 * Something besides the accept rate that can pause a listening socket's accepting, such as TLS handshakes in
 * flight at their per-loop maximum: while it is shut, new connections wait in the kernel's accept queue.
 * {@link AdmissionAcceptHandler} stays the one owner of the socket's {@code autoRead} and asks the gate.
 */
public interface AcceptGate {
    /** A gate that never shuts. */
    AcceptGate NONE = new AcceptGate() {
        @Override
        public boolean shut() {
            return false;
        }

        @Override
        public void attach(Channel listening, Runnable changed) {
        }
    };

    /** Whether accepting must pause now. Called on the listening socket's loop; cheap. */
    boolean shut();

    /**
     * Called once, on the listening socket's loop, when the accept handler joins its pipeline. {@code changed}
     * must be run (from any thread) whenever {@link #shut()} may have changed.
     */
    void attach(Channel listening, Runnable changed);
}
