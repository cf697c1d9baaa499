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
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The pipeline of a client connection, in order:
 * <pre>
 *   [codec: HttpServerCodec] → [proxy: HttpProxyHandler]
 * </pre>
 * After a WebSocket upgrade both are replaced by {@code [tunnel: TunnelRelayHandler]}. A connection that
 * admission refused gets {@code [refusal: RefusalHandler]} alone.
 */
@Sharable
public final class FrontendInitializer extends ChannelInitializer<Channel> {
    public static final String CODEC = "codec";
    public static final String PROXY = "proxy";
    /** Pipelined requests decoded ahead of their responses, at most; beyond it the connection is closed. */
    private static final int MAX_PIPELINED = 256;
    /** Largest body piece handed on at once; pieces are slices of the read buffer, so bigger is cheaper. */
    private static final int MAX_CHUNK = 64 * 1024;

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
        HttpDecoderConfig decoder = new HttpDecoderConfig()
                .setMaxInitialLineLength(limits.maxInitialLineLength())
                .setMaxHeaderSize(limits.maxHeaderSize())
                .setMaxChunkSize(MAX_CHUNK);
        ch.pipeline()
                .addLast(CODEC, new HttpServerCodec(decoder, MAX_PIPELINED))
                .addLast(PROXY, new HttpProxyHandler(frontend));
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
