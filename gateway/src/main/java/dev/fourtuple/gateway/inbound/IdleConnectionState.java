package dev.fourtuple.gateway.inbound;

/**
 * A plaintext client connection idle between requests, as it moves to a successor process with its socket.
 *
 * @param listener     the name of the listener it came in on
 * @param idleForNanos how long it had been idle (its idle-timeout goes on from there)
 * @param held         bytes read while it was being quieted: the start of its next request
 */
public record IdleConnectionState(String listener, long idleForNanos, byte[] held) {
    /** The kind of {@link dev.fourtuple.gateway.connection.Departure} this is the state of. */
    public static final String KIND = "idle-http";
}
