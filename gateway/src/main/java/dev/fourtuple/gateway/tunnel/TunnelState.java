package dev.fourtuple.gateway.tunnel;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * A plaintext tunnel as it moves to a successor process with its two sockets: enough to resume relaying
 * exactly where it stopped.
 *
 * @param backend        the backend address (ip:port) its upstream socket is connected to
 * @param idleForNanos   how long it had been without a byte either way (its idle clock goes on from there)
 * @param towardsBackend where the client's frames stood (RFC 6455 §5.2)
 * @param towardsClient  where the backend's frames stood
 * @param fromClient     bytes read from the client while it was being quieted, not yet relayed
 * @param fromBackend    bytes read from the backend while it was being quieted, not yet relayed
 */
public record TunnelState(String backend, long idleForNanos, FrameBoundaries.Position towardsBackend,
        FrameBoundaries.Position towardsClient, byte[] fromClient, byte[] fromBackend) {
    /** The kind of {@link dev.fourtuple.gateway.connection.Departure} this is the state of. */
    public static final String KIND = "tunnel";

    /**
     * {@link #backend} as an address.
     *
     * @throws IllegalArgumentException when it is not an IP literal and port
     */
    public InetSocketAddress backendAddress() {
        int colon = backend.lastIndexOf(':');
        String host = colon > 0 ? backend.substring(0, colon).replace("[", "").replace("]", "") : "";
        if (host.isEmpty() || !(Character.digit(host.charAt(0), 16) >= 0 || host.indexOf(':') >= 0)) {
            throw new IllegalArgumentException("not a backend address: " + backend);
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(host), Integer.parseInt(backend.substring(colon + 1)));
        } catch (UnknownHostException | NumberFormatException e) { // a literal never resolves: it is malformed
            throw new IllegalArgumentException("not a backend address: " + backend, e);
        }
    }
}
