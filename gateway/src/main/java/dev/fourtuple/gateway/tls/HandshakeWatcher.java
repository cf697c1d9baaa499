package dev.fourtuple.gateway.tls;

import dev.fourtuple.gateway.tls.TlsMeters.HandshakeResult;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SniCompletionEvent;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * Behind the TLS handler while a handshake is in flight: counts it (meters, the accept gate), swallows what a
 * failed handshake throws (a client that speaks no TLS, or only versions or ciphers we refuse, is not ours to
 * log about one by one: it is counted), and removes itself once the handshake ended, so an established
 * connection does not carry it. The HTTP handlers behind it see no TLS event.
 */
final class HandshakeWatcher extends ChannelInboundHandlerAdapter {
    private final TlsMeters meters;
    private final @Nullable HandshakeGate gate;
    private boolean ended;

    HandshakeWatcher(TlsMeters meters, @Nullable HandshakeGate gate) {
        this.meters = meters;
        this.gate = gate;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        meters.handshakeStarted();
        if (gate != null) {
            gate.started();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent completion) {
            if (completion.isSuccess()) {
                end(HandshakeResult.DONE);
                ctx.channel().closeFuture().addListener(closed -> meters.connectionClosed());
                ctx.pipeline().remove(this);
            } else {
                end(completion.cause() instanceof SslHandshakeTimeoutException ? HandshakeResult.TIMEOUT
                        : HandshakeResult.FAILED);
                ctx.close(); // the SslHandler closes too; this covers the engines that leave it open
            }
            return;
        }
        if (evt instanceof SniCompletionEvent sni) {
            if (!sni.isSuccess()) { // timed out before a ClientHello, or one we could not read
                end(sni.cause() instanceof SslHandshakeTimeoutException ? HandshakeResult.TIMEOUT
                        : HandshakeResult.FAILED);
                ctx.close();
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // Not TLS (plain HTTP on the TLS port), a refused version or cipher, a bad record: counted when the
        // completion event arrives; closing is the answer (RFC 8446 §6.2, the engine sent its alert).
        end(HandshakeResult.FAILED);
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        end(HandshakeResult.FAILED); // closed by the client before the handshake finished
        ctx.fireChannelInactive();
    }

    private void end(HandshakeResult result) {
        if (ended) {
            return;
        }
        ended = true;
        meters.handshakeEnded(result);
        if (gate != null) {
            gate.finished();
        }
    }
}
