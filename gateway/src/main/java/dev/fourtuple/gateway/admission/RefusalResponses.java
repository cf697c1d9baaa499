package dev.fourtuple.gateway.admission;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The 503 a refused client gets, encoded once per Retry-After value (retry-after plus 0..jitter seconds) so
 * that refusing costs a buffer duplicate and a write, and refused clients spread their retries.
 */
final class RefusalResponses {
    private final ByteBuf[] variants;

    RefusalResponses(Duration retryAfter, Duration jitter) {
        long base = Math.max(1, retryAfter.toSeconds());
        int spread = (int) Math.max(0, jitter.toSeconds());
        variants = new ByteBuf[spread + 1];
        for (int i = 0; i <= spread; i++) {
            variants[i] = encode(base + i);
        }
    }

    private static ByteBuf encode(long retryAfterSeconds) {
        String body = "503 Service Unavailable\n";
        String response = "HTTP/1.1 503 Service Unavailable\r\n"
                + "Content-Type: text/plain; charset=us-ascii\r\n"
                + "Content-Length: " + body.length() + "\r\n"
                + "Retry-After: " + retryAfterSeconds + "\r\n"
                + "Connection: close\r\n\r\n"
                + body;
        byte[] bytes = response.getBytes(StandardCharsets.US_ASCII);
        // Heap, wrapped, unreleasable: shared by every refusal for the gateway's life, never freed, never leaked.
        return Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(bytes).asReadOnly());
    }

    /** One of the encoded responses, at random; write it as is (it is never released). */
    ByteBuf pick() {
        return variants[ThreadLocalRandom.current().nextInt(variants.length)].duplicate();
    }
}
