package dev.fourtuple.gateway.inbound;

import dev.fourtuple.gateway.admission.AdmissionAcceptHandler;
import dev.fourtuple.gateway.admission.AdmissionController;
import dev.fourtuple.gateway.admission.RefusalHandler;
import dev.fourtuple.gateway.config.Limits;
import dev.fourtuple.gateway.metrics.ProblemLog;
import dev.fourtuple.gateway.timeout.TimerWheel;
import dev.fourtuple.gateway.transport.PerLoop;
import dev.fourtuple.gateway.tunnel.Tunnel;
import dev.fourtuple.gateway.tunnel.TunnelMeters;
import dev.fourtuple.gateway.upstream.UpstreamConnector;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelInitializer;
import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The pipeline of a client connection, in order:
 * <pre>
 *   [encoder: FrontendResponseEncoder] → [decoder: FrontendRequestDecoder] → [proxy: HttpProxyHandler]
 * </pre>
 * After a WebSocket upgrade all three are replaced by {@code [tunnel: TunnelRelayHandler]}. A connection that
 * admission refused gets {@code [refusal: RefusalHandler]} alone.
 */
@Sharable
public final class FrontendInitializer extends ChannelInitializer<Channel> {
    static final String ENCODER = "encoder";
    static final String DECODER = "decoder";
    static final String PROXY = "proxy";

    private final Frontend frontend;
    private final AtomicReference<FrontendSettings> settings;
    private final AdmissionController admission;
    private volatile boolean draining;

    public FrontendInitializer(AtomicReference<FrontendSettings> settings, PerLoop<TimerWheel> wheels,
            UpstreamConnector connector, InboundMeters meters, TunnelMeters tunnelMeters, ProblemLog problems,
            AdmissionController admission) {
        this.settings = settings;
        this.admission = admission;
        this.frontend = new Frontend(settings::get, wheels, connector, meters, tunnelMeters, problems,
                () -> draining);
    }

    @Override
    protected void initChannel(Channel ch) {
        // hasAttr first: attr() alone would add an attribute map to every admitted channel.
        if (ch.hasAttr(AdmissionAcceptHandler.REFUSED)) {
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
    }

    /**
     * Cuts the connections of one loop that still use a backend a reload removed (tunnels, long-polls): the
     * reload-grace is over. Runs on the wheel's loop.
     */
    public void closeConnectionsTo(TimerWheel wheel, Set<InetSocketAddress> removed) {
        wheel.forEachOwner(owner -> {
            if (owner instanceof Tunnel tunnel && removed.contains(tunnel.backend())) {
                tunnel.close();
            } else if (owner instanceof HttpProxyHandler handler && handler.uses(removed)) {
                handler.cutForRemovedBackend();
            }
        });
    }

    /**
     * Starts draining: from now on every response says {@code Connection: close}, and connections idle
     * between requests are closed now. Requests in flight and tunnels are left to finish.
     */
    public void startDrain() {
        draining = true;
        for (TimerWheel wheel : frontend.wheels().all()) {
            wheel.loop().execute(() -> wheel.forEachOwner(owner -> {
                if (owner instanceof HttpProxyHandler handler) {
                    handler.drain();
                }
            }));
        }
    }
}
