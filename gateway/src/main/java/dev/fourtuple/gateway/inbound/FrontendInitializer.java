package dev.fourtuple.gateway.inbound;

import dev.fourtuple.gateway.admission.AdmissionAcceptHandler;
import dev.fourtuple.gateway.admission.AdmissionController;
import dev.fourtuple.gateway.admission.RefusalHandler;
import dev.fourtuple.gateway.config.Limits;
import dev.fourtuple.gateway.tls.ServerTls;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelInitializer;
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

    FrontendInitializer(Frontend frontend, AtomicReference<FrontendSettings> settings, AdmissionController admission,
            @Nullable ServerTls tls) {
        this.frontend = frontend;
        this.settings = settings;
        this.admission = admission;
        this.tls = tls;
    }

    @Override
    protected void initChannel(Channel ch) {
        // hasAttr first: attr() alone would add an attribute map to every admitted channel.
        if (ch.hasAttr(AdmissionAcceptHandler.REFUSED)) {
            if (tls != null) {
                ch.close();
                return;
            }
            ch.pipeline().addLast(RefusalHandler.NAME, admission.refusalHandler(frontend.wheels().get(ch.eventLoop())));
            return;
        }
        FrontendSettings current = settings.get();
        current.socket().applyTo(ch.config());
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
