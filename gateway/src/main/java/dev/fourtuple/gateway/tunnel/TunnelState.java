package dev.fourtuple.gateway.tunnel;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * A plaintext tunnel as it moves to a successor process with its two sockets: enough to resume relaying
 * exactly where it stopped.
 *
 * @param backendIp      the backend's IP (4 or 16 bytes) its upstream socket is connected to: no name, no lookup
 * @param backendPort    the backend's port
 * @param idleForNanos   how long it had been without a byte either way (its idle clock goes on from there)
 * @param towardsBackend where the client's frames stood (RFC 6455 §5.2)
 * @param towardsClient  where the backend's frames stood
 * @param fromClient     bytes read from the client while it was being quieted, not yet relayed
 * @param fromBackend    bytes read from the backend while it was being quieted, not yet relayed
 */
public record TunnelState(byte[] backendIp, int backendPort, long idleForNanos, FrameBoundaries.Position towardsBackend,
        FrameBoundaries.Position towardsClient, byte[] fromClient, byte[] fromBackend) {
    /** The kind of {@link dev.fourtuple.gateway.connection.Departure} this is the state of. */
    public static final String KIND = "tunnel";

    /**
     * The backend's address.
     *
     * @throws IllegalArgumentException when the IP is not 4 or 16 bytes, or the port not 0..65535
     */
    public InetSocketAddress backendAddress() {
        try {
            return new InetSocketAddress(InetAddress.getByAddress(backendIp), backendPort);
        } catch (UnknownHostException e) { // getByAddress says so only for a wrong length
            throw new IllegalArgumentException("not a backend IP: " + backendIp.length + " bytes", e);
        }
    }
}
