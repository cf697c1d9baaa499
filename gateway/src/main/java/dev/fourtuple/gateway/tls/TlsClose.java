package dev.fourtuple.gateway.tls;

import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandler;
import javax.net.ssl.SSLException;

/**
 * Ending the output of a connection that may speak TLS: a close_notify first (RFC 8446 §6.1: "Each party
 * MUST send a close_notify alert before closing its write side"), then the TCP FIN. TLS 1.3 makes
 * close_notify a half-close, so the peer may still send; on a plaintext connection it is the FIN alone. Used
 * on either side of a tunnel (a TLS listener's client, a TLS backend): the SslHandler is found by its type.
 *
 * <p>The other way round the engine decides: the JDK's keeps writing after it reads a TLS 1.3 close_notify;
 * Netty's OpenSSL engine closes its own outbound side when it reads one, so after a TLS peer's close_notify what
 * the other side still sends towards it cannot be written (a WebSocket has exchanged Close frames by then).
 */
public final class TlsClose {
    private TlsClose() {
    }

    /** Sends close_notify when the channel speaks TLS, then shuts its output. */
    public static ChannelFuture shutdownOutput(DuplexChannel channel) {
        SslHandler tls = channel.pipeline().get(SslHandler.class);
        if (tls == null || !tls.handshakeFuture().isSuccess()) {
            return channel.shutdownOutput();
        }
        ChannelPromise shut = channel.newPromise();
        tls.closeOutbound().addListener(notified -> channel.shutdownOutput(shut));
        return shut;
    }

    /**
     * Whether an exception is the peer's TLS going wrong (a bad record, a bad MAC, an alert: RFC 8446 §6.2),
     * as Netty reports it: the peer's doing, like a reset, not the gateway's.
     */
    public static boolean isPeerFailure(Throwable cause) {
        return cause instanceof SSLException
                || (cause instanceof DecoderException && cause.getCause() instanceof SSLException);
    }
}
