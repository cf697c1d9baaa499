package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.SendProxyProtocol;
import dev.fourtuple.gateway.connection.ClientAddress;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.util.NetUtil;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import org.jspecify.annotations.Nullable;

/**
 * The first bytes of a new upstream connection of a cluster with {@code send-proxy-protocol}: a PROXY
 * protocol header (HAProxy's doc/proxy-protocol.txt) naming the client ({@link ClientAddress}) as source and
 * the address it connected to as destination. Sits first:
 * {@code [proxy-header-encoder: HAProxyMessageEncoder] → [proxy-header: ProxyHeaderWriter] → [tls …] → …};
 * once connected it writes the header (ahead of a TLS ClientHello or the request: §2, the header is sent
 * first, once) and leaves with the encoder ({@link #writeHeader}).
 */
final class ProxyHeaderWriter extends ChannelHandlerAdapter {
    static final String NAME = "proxy-header";
    static final String ENCODER = "proxy-header-encoder";

    private final SendProxyProtocol version;
    private final @Nullable SocketAddress source;
    private final @Nullable SocketAddress destination;

    private ProxyHeaderWriter(SendProxyProtocol version, @Nullable SocketAddress source,
            @Nullable SocketAddress destination) {
        this.version = version;
        this.source = source;
        this.destination = destination;
    }

    /** Puts the writer (and its encoder) first; the client's addresses are read now, while it is known open. */
    static void addTo(ChannelPipeline pipeline, SendProxyProtocol version, @Nullable Channel client) {
        SocketAddress source = client == null ? null : ClientAddress.of(client);
        SocketAddress destination = client == null ? null : ClientAddress.destination(client);
        pipeline.addFirst(NAME, new ProxyHeaderWriter(version, source, destination))
                .addFirst(ENCODER, HAProxyMessageEncoder.INSTANCE);
    }

    /**
     * Writes the header, ahead of everything, and leaves with the encoder. Called by the connector as the
     * connect succeeds, before it hands the connection out: Netty completes the connect promise before it
     * fires {@code channelActive}, so a write made on {@code channelActive} would come after the request.
     * Written from this handler's place, in front of TLS: a ClientHello, sent on {@code channelActive},
     * follows it. Flushed with the request or the ClientHello, in one segment where it fits.
     */
    static void writeHeader(Channel channel) {
        ChannelPipeline pipeline = channel.pipeline();
        ChannelHandlerContext ctx = pipeline.context(NAME);
        if (ctx == null) {
            return; // a cluster without send-proxy-protocol
        }
        // Made here, not earlier: the message is reference counted, and a connect that fails never gets here.
        ctx.write(((ProxyHeaderWriter) ctx.handler()).header());
        pipeline.remove(ENCODER); // it has encoded the header already (MessageToByteEncoder is synchronous)
        pipeline.remove(NAME);
    }

    /**
     * The header: §2.1 / §2.2 PROXY with TCP4 when both addresses are IPv4, else TCP6 (an IPv4 one written in
     * its IPv4-mapped form, as a dual-stack socket would show it). Without the client's addresses (no client
     * connection: a test, a check) v2 says LOCAL and v1 UNKNOWN: "the receiver must use the real connection
     * endpoints" (§2.2, §2.1).
     */
    HAProxyMessage header() {
        HAProxyProtocolVersion protocolVersion = version == SendProxyProtocol.V1 ? HAProxyProtocolVersion.V1
                : HAProxyProtocolVersion.V2;
        if (!(source instanceof InetSocketAddress from) || from.getAddress() == null
                || !(destination instanceof InetSocketAddress to) || to.getAddress() == null) {
            return new HAProxyMessage(protocolVersion, protocolVersion == HAProxyProtocolVersion.V2
                    ? HAProxyCommand.LOCAL : HAProxyCommand.PROXY, HAProxyProxiedProtocol.UNKNOWN, null, null, 0, 0);
        }
        boolean ipv4 = from.getAddress() instanceof Inet4Address && to.getAddress() instanceof Inet4Address;
        return new HAProxyMessage(protocolVersion, HAProxyCommand.PROXY,
                ipv4 ? HAProxyProxiedProtocol.TCP4 : HAProxyProxiedProtocol.TCP6,
                literal(from.getAddress(), ipv4), literal(to.getAddress(), ipv4), from.getPort(), to.getPort());
    }

    private static String literal(InetAddress address, boolean ipv4) {
        if (ipv4 || !(address instanceof Inet4Address)) {
            return NetUtil.toAddressString(address); // no scope id, RFC 5952 form for IPv6
        }
        return "::ffff:" + address.getHostAddress(); // RFC 4291 §2.5.5.2
    }
}
