package dev.fourtuple.gateway.tunnel;

import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;

/**
 * Relays a FIN onto a tunnel side: the write side is shut (RFC 9293 §3.6), and on a TLS side (a TLS backend,
 * a TLS listener) a {@code close_notify} goes first, as RFC 8446 §6.1 requires before closing the write side.
 * Neither closes the read side: what the peer still sends is relayed (TLS 1.3 allows it; a TLS 1.2 peer answers
 * with its own close_notify and closes, RFC 5246 §7.2.1).
 *
 * <p>The other way round the engine decides: the JDK's keeps writing after it reads a TLS 1.3 close_notify,
 * Netty's OpenSSL engine closes its own outbound side when it reads one, so after a TLS peer's close_notify what
 * the other side still sends towards it cannot be written (a WebSocket has exchanged Close frames by then).
 *
 * <p>The SslHandler is looked up by type, not by a name of the package that added it: whichever side has one,
 * it is that side's TLS.
 */
final class HalfClose {
    private HalfClose() {
    }

    /** Shuts the channel's output, after a close_notify when it speaks TLS. */
    static void shutdownOutput(DuplexChannel channel) {
        SslHandler tls = channel.pipeline().get(SslHandler.class);
        if (tls == null) {
            channel.shutdownOutput();
            return;
        }
        // closeOutbound() writes and flushes the close_notify without closing the channel; the FIN follows once
        // it is written (with io_uring a flushed write is in flight until it completes).
        tls.closeOutbound().addListener(sent -> channel.shutdownOutput());
    }
}
