package dev.fourtuple.gateway.tunnel;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;

/**
 * One side of an HTTP connection that becomes a tunnel (after a WebSocket upgrade), as its own package strips
 * its HTTP codec: {@link Tunnel#upgrade} says when, each side knows how. No package touches another's
 * pipeline names.
 */
public interface UpgradingSide {

    Channel channel();

    /** From now on nothing written this way is HTTP-encoded. */
    void removeEncoder();

    /**
     * Puts {@code relay} (named {@code name}) where this side's HTTP handler is, then removes the decoder, which
     * hands the relay whatever bytes it held (frames that came with or right after the upgrade).
     */
    void becomeRelay(String name, ChannelHandler relay);
}
