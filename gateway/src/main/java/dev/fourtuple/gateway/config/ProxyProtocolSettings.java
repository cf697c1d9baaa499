package dev.fourtuple.gateway.config;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;

/**
 * A listener's PROXY protocol settings (HAProxy's doc/proxy-protocol.txt).
 *
 * @param mode    which header its connections must start with; {@link ProxyProtocolMode#OFF} = none
 * @param from    the peers (balancers) allowed to send one; a connection from anywhere else is refused
 * @param timeout the header must be complete within this from the accept
 */
public record ProxyProtocolSettings(ProxyProtocolMode mode, List<Cidr> from, Duration timeout) {
    /** A listener without the PROXY protocol. */
    public static final ProxyProtocolSettings OFF = new ProxyProtocolSettings(ProxyProtocolMode.OFF, List.of(),
            Duration.ofSeconds(5));

    public ProxyProtocolSettings {
        from = List.copyOf(from);
    }

    public boolean enabled() {
        return mode != ProxyProtocolMode.OFF;
    }

    /** Whether a connection from {@code peer} may send a header (§5: accept it only from known sources). */
    public boolean trusts(InetAddress peer) {
        for (Cidr cidr : from) {
            if (cidr.contains(peer)) {
                return true;
            }
        }
        return false;
    }
}
