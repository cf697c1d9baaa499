package dev.fourtuple.gateway.upstream;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import java.util.ArrayList;
import java.util.List;

/**
 * A backend connection's response decoder on an {@link EmbeddedChannel}, for tests outside this package (the
 * head-path fuzz test): bytes in, decoded response pieces out, and whether the connection could be reused.
 */
public final class UpstreamDecoding implements AutoCloseable {
    private final UpstreamResponseDecoder decoder = UpstreamResponseDecoder.create();
    private final EmbeddedChannel channel = new EmbeddedChannel(decoder);

    /** The decoder, due the response to a request with this method. */
    public static UpstreamDecoding expecting(HttpMethod method) {
        UpstreamDecoding decoding = new UpstreamDecoding();
        decoding.decoder.expect(method);
        return decoding;
    }

    /** Decodes bytes from the backend; ownership of what comes out passes to the caller. */
    public List<HttpObject> feed(byte[] bytes) {
        channel.writeInbound(Unpooled.wrappedBuffer(bytes));
        return drain();
    }

    /** The backend closes: what the decoder makes of the end of the stream. */
    public List<HttpObject> backendCloses() {
        channel.finish();
        return drain();
    }

    /** {@link UpstreamResponseDecoder#clean()}: the pool would take the connection back. */
    public boolean clean() {
        return decoder.clean();
    }

    private List<HttpObject> drain() {
        List<HttpObject> out = new ArrayList<>();
        Object message;
        while ((message = channel.readInbound()) != null) {
            out.add((HttpObject) message);
        }
        return out;
    }

    @Override
    public void close() {
        channel.finishAndReleaseAll();
    }
}
