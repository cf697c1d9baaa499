package dev.fourtuple.gateway.inbound;

import dev.fourtuple.gateway.config.ProxyProtocolMode;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import org.jspecify.annotations.Nullable;

/**
 * What a decoded PROXY protocol header (HAProxy's doc/proxy-protocol.txt) means for a listener: refused, the
 * connection's own addresses, or the client's. Every section cited is of that file.
 */
final class ProxyProtocolHeaders {
    private ProxyProtocolHeaders() {
    }

    /** Why {@code header} is refused on a listener of {@code mode}, or null when it is acceptable. */
    static @Nullable String refusal(HAProxyMessage header, ProxyProtocolMode mode) {
        HAProxyProtocolVersion version = header.protocolVersion();
        if (mode == ProxyProtocolMode.V1 && version != HAProxyProtocolVersion.V1) {
            return "a v2 header on a v1-only listener"; // §2: the receiver accepts only what it is configured for
        }
        if (mode == ProxyProtocolMode.V2 && version != HAProxyProtocolVersion.V2) {
            return "a v1 header on a v2-only listener";
        }
        if (header.command() == HAProxyCommand.LOCAL) {
            return null; // §2.2: LOCAL must be accepted; the real endpoints are used (balancer health checks)
        }
        return switch (header.proxiedProtocol()) {
            // §2.1 "UNKNOWN" / §2.2 UNSPEC: the receiver may accept with the real endpoints, ignoring the rest.
            case TCP4, TCP6, UNKNOWN -> null;
            // §2.2: UDP and UNIX may be rejected; an HTTP gateway serves TCP clients only.
            default -> "a header for " + header.proxiedProtocol() + ", not TCP";
        };
    }

    /**
     * The client address and the address it connected to, from an accepted header; null when the connection
     * keeps its own (LOCAL, UNKNOWN). Parsed as literals: no name is looked up.
     */
    static InetSocketAddress @Nullable [] addresses(HAProxyMessage header) {
        HAProxyProxiedProtocol protocol = header.proxiedProtocol();
        if (header.command() != HAProxyCommand.PROXY
                || (protocol != HAProxyProxiedProtocol.TCP4 && protocol != HAProxyProxiedProtocol.TCP6)) {
            return null;
        }
        return new InetSocketAddress[] {address(header.sourceAddress(), header.sourcePort()),
                address(header.destinationAddress(), header.destinationPort())};
    }

    private static InetSocketAddress address(String literal, int port) {
        byte[] bytes = NetUtil.createByteArrayFromIpAddressString(literal); // the decoder validated the literal
        try {
            return new InetSocketAddress(InetAddress.getByAddress(bytes), port);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("PROXY header address " + literal, e); // 4 or 16 bytes: never
        }
    }
}
