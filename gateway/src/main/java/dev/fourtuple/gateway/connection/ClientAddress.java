package dev.fourtuple.gateway.connection;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import java.net.SocketAddress;
import org.jspecify.annotations.Nullable;

/**
 * The one answer to "who is the client of this connection, and which address did it connect to": what
 * X-Forwarded-For, the per-client admission limits, problem lines and an outbound PROXY header use.
 *
 * <p>On a listener behind an L4 balancer speaking the PROXY protocol the socket's peer is the balancer; the
 * header names the client, and {@link #proxied} records it on the channel. Everywhere else the socket's own
 * addresses are the answer, and no attribute is added (a plain connection pays nothing).
 */
public final class ClientAddress {
    /** The addresses a PROXY protocol header gave, on a connection that had one with addresses. */
    private static final AttributeKey<Proxied> PROXIED = AttributeKey.valueOf("fourtuple.client.proxied");

    /**
     * A PROXY protocol header's addresses.
     *
     * @param source      the client
     * @param destination the address the client connected to (the balancer's front)
     */
    private record Proxied(SocketAddress source, SocketAddress destination) {
    }

    private ClientAddress() {
    }

    /**
     * Records the header's addresses. Called once, on the connection's loop, before anything reads
     * {@link #of} for it (the HTTP handlers start only after the header).
     */
    public static void proxied(Channel channel, SocketAddress source, SocketAddress destination) {
        channel.attr(PROXIED).set(new Proxied(source, destination));
    }

    /** The client's address: the PROXY header's source, else the socket's peer (null for a local channel). */
    public static @Nullable SocketAddress of(Channel channel) {
        // hasAttr first: attr() alone would add an attribute map to every plain channel.
        Proxied proxied = channel.hasAttr(PROXIED) ? channel.attr(PROXIED).get() : null;
        return proxied != null ? proxied.source() : channel.remoteAddress();
    }

    /** The address the client connected to: the PROXY header's destination, else the socket's local address. */
    public static @Nullable SocketAddress destination(Channel channel) {
        Proxied proxied = channel.hasAttr(PROXIED) ? channel.attr(PROXIED).get() : null;
        return proxied != null ? proxied.destination() : channel.localAddress();
    }
}
