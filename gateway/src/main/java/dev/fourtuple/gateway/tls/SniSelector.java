package dev.fourtuple.gateway.tls;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.IllegalReferenceCountException;
import io.netty.util.Mapping;
import io.netty.util.ReferenceCountUtil;

/**
 * Reads the ClientHello, picks the certificate by its SNI name (RFC 6066 §3) and puts the SslHandler in its
 * own place. One handshake timeout covers both: the SslHandler gets what is left of it, not a fresh one, so a
 * client that sends its ClientHello slowly cannot hold a connection for twice the timeout.
 */
final class SniSelector extends SniHandler {
    private final long startedNanos = System.nanoTime();
    private final Mapping<? super String, ? extends SslContext> contexts;

    SniSelector(Mapping<? super String, ? extends SslContext> mapping, int maxClientHelloLength, long timeoutMillis) {
        super(mapping, maxClientHelloLength, timeoutMillis);
        this.contexts = mapping;
    }

    /** Same as Netty's, but the SslHandler keeps the pipeline name {@link ServerTls#HANDLER}. */
    @Override
    protected void replaceHandler(ChannelHandlerContext ctx, String hostname, SslContext sslContext) {
        SslHandler handler;
        try {
            handler = newSslHandler(sslContext, ctx.alloc());
        } catch (IllegalReferenceCountException replaced) {
            // A reload freed that context between the lookup and now: the one serving now is the answer.
            handler = newSslHandler(contexts.map(hostname), ctx.alloc());
        }
        try {
            ctx.pipeline().replace(this, ServerTls.HANDLER, handler);
        } catch (RuntimeException e) {
            ReferenceCountUtil.safeRelease(handler.engine()); // not in the pipeline: its engine is still ours
            throw e;
        }
    }

    @Override
    protected SslHandler newSslHandler(SslContext context, ByteBufAllocator allocator) {
        SslHandler handler = context.newHandler(allocator);
        long spentMillis = (System.nanoTime() - startedNanos) / 1_000_000;
        handler.setHandshakeTimeoutMillis(Math.max(1, handshakeTimeoutMillis - spentMillis));
        return handler;
    }
}
