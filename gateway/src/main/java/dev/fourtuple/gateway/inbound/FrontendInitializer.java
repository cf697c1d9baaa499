package dev.fourtuple.gateway.inbound;

import dev.fourtuple.gateway.admission.AdmissionAcceptHandler;
import dev.fourtuple.gateway.admission.AdmissionController;
import dev.fourtuple.gateway.admission.RefusalHandler;
import dev.fourtuple.gateway.config.Limits;
import dev.fourtuple.gateway.tls.ServerTls;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import java.net.InetSocketAddress;
import dev.fourtuple.gateway.config.ProxyProtocolSettings;
import dev.fourtuple.gateway.metrics.Problem;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;

/**
 * The pipeline of a client connection of one listener, in order:
 * <pre>
 *   [tls → handshake, on TLS listeners: ServerTls's] → [encoder: FrontendResponseEncoder]
 *       → [decoder: FrontendRequestDecoder] → [proxy: HttpProxyHandler]
 * </pre>
 * After a WebSocket upgrade the HTTP three are replaced by {@code [tunnel: TunnelRelayHandler]} (TLS stays).
 * A connection that admission refused gets {@code [refusal: RefusalHandler]} alone on a plaintext listener,
 * and is closed at once on a TLS one: its 503 could only be sent after the very handshake that admission
 * could not afford.
 *
 * <p>On a PROXY protocol listener {@code [proxy-protocol-decoder] → [proxy-protocol: ProxyProtocolHandler]}
 * come first (before TLS: the header precedes the ClientHello, HAProxy's doc/proxy-protocol.txt §2) and
 * leave once the header is in; a peer outside {@code proxy-protocol-from} is reset here, before a byte is
 * read (§5: accept the header only from known sources, never trust it from anyone else).
 */
@Sharable
public final class FrontendInitializer extends ChannelInitializer<Channel> {
    static final String ENCODER = "encoder";
    static final String DECODER = "decoder";
    static final String PROXY = "proxy";

    private final Frontend frontend;
    private final AtomicReference<FrontendSettings> settings;
    private final AdmissionController admission;
    private final @Nullable ServerTls tls;
    private final ProxyProtocolSettings proxyProtocol;

    FrontendInitializer(Frontend frontend, AtomicReference<FrontendSettings> settings, AdmissionController admission,
            @Nullable ServerTls tls, ProxyProtocolSettings proxyProtocol) {
        this.frontend = frontend;
        this.settings = settings;
        this.admission = admission;
        this.tls = tls;
        this.proxyProtocol = proxyProtocol;
    }

    @Override
    protected void initChannel(Channel ch) {
        if (proxyProtocol.enabled() && !trusted(ch)) {
            frontend.problems().report(Problem.PROXY_UNTRUSTED, String.valueOf(ch.remoteAddress()));
            ch.config().setOption(ChannelOption.SO_LINGER, 0);
            ch.close();
            return;
        }
        // hasAttr first: attr() alone would add an attribute map to every admitted channel.
        if (ch.hasAttr(AdmissionAcceptHandler.REFUSED)) {
            refuse(ch);
            return;
        }
        addHttp(ch);
        if (proxyProtocol.enabled()) {
            ch.pipeline()
                    .addFirst(ProxyProtocolHandler.NAME, new ProxyProtocolHandler(proxyProtocol,
                            frontend.wheels().get(ch.eventLoop()), frontend.problems(), admission, this::refuseProxied))
                    .addFirst(ProxyProtocolHandler.DECODER_NAME, ProxyProtocolHandler.newDecoder());
        }
    }

    private boolean trusted(Channel ch) {
        return ch.remoteAddress() instanceof InetSocketAddress peer && peer.getAddress() != null
                && proxyProtocol.trusts(peer.getAddress());
    }

    /** A connection admission refused: the 503 alone on plaintext, a close on TLS (see the class comment). */
    private void refuse(Channel ch) {
        if (tls != null) {
            ch.close();
            return;
        }
        ch.pipeline().addLast(RefusalHandler.NAME, admission.refusalHandler(frontend.wheels().get(ch.eventLoop())));
    }

    /** The per-client limits refused the client a PROXY header named: its HTTP (or TLS) handlers go. */
    private void refuseProxied(Channel ch) {
        if (tls != null) {
            ch.close();
            return;
        }
        ChannelPipeline pipeline = ch.pipeline();
        pipeline.remove(PROXY);
        pipeline.remove(DECODER);
        pipeline.remove(ENCODER);
        refuse(ch);
    }

    private void addHttp(Channel ch) {
        FrontendSettings current = settings.get();
        current.socket().applyToAccepted(ch.config()); // the listener had the rest
        Limits limits = current.limits();
        FrontendRequestDecoder decoder = FrontendRequestDecoder.create(limits);
        FrontendResponseEncoder encoder = new FrontendResponseEncoder();
        ch.pipeline()
                .addLast(ENCODER, encoder)
                .addLast(DECODER, decoder)
                .addLast(PROXY, new HttpProxyHandler(frontend, decoder, encoder));
        if (tls != null) {
            tls.addTo(ch);
        }
    }
}
