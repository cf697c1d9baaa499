package dev.fourtuple.gateway.tunnel;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Frames made by Netty's own encoder (masked as a client's, unmasked as a server's), split anywhere. */
class FrameBoundariesTest {

    /** Encodes frames, each to its own bytes, as the given side would send them. */
    private static List<ByteBuf> encode(boolean masked, List<WebSocketFrame> frames) {
        EmbeddedChannel encoder = new EmbeddedChannel(new WebSocket08FrameEncoder(masked));
        List<ByteBuf> out = new ArrayList<>();
        for (WebSocketFrame frame : frames) {
            encoder.writeOutbound(frame);
            ByteBuf whole = Unpooled.buffer();
            for (ByteBuf part; (part = encoder.readOutbound()) != null; ) {
                whole.writeBytes(part);
                part.release();
            }
            out.add(whole);
        }
        encoder.finishAndReleaseAll();
        return out;
    }

    private static List<WebSocketFrame> mixed(Random random) {
        List<WebSocketFrame> frames = new ArrayList<>();
        int[] sizes = {0, 1, 125, 126, 127, 65535, 65536, 200_000};
        for (int size : sizes) {
            byte[] payload = new byte[size];
            random.nextBytes(payload);
            frames.add(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(payload)));
        }
        frames.add(new TextWebSocketFrame(false, 0, "fragment one, "));
        frames.add(new PingWebSocketFrame(Unpooled.wrappedBuffer(new byte[] {1, 2, 3}))); // between fragments
        frames.add(new ContinuationWebSocketFrame(true, 0, "and the last"));
        return frames;
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void findsEveryBoundaryWhereverTheBytesAreSplit(boolean masked) {
        Random random = new Random(masked ? 1 : 2);
        List<ByteBuf> frames = encode(masked, mixed(random));
        ByteBuf all = Unpooled.buffer();
        List<Integer> ends = new ArrayList<>();
        for (ByteBuf frame : frames) {
            all.writeBytes(frame);
            ends.add(all.writerIndex());
            frame.release();
        }
        for (int run = 0; run < 20; run++) {
            FrameBoundaries boundaries = new FrameBoundaries();
            int at = 0;
            while (at < all.writerIndex()) {
                // a cut at a random place, or exactly at a frame end
                int next = Math.min(all.writerIndex(), at + 1 + random.nextInt(run % 2 == 0 ? 7 : 70_000));
                boundaries.scan(all.slice(at, next - at));
                assertThat(boundaries.atBoundary()).as("after byte %d", next).isEqualTo(ends.contains(next));
                at = next;
            }
            assertThat(boundaries.frames()).isEqualTo(ends.size());
            assertThat(boundaries.broken()).isFalse();
        }
        all.release();
    }

    @Test
    void aLengthWithItsTopBitSetBreaksTracking() {
        FrameBoundaries boundaries = new FrameBoundaries();
        boundaries.scan(Unpooled.wrappedBuffer(new byte[] {(byte) 0x82, 127, (byte) 0x80, 0, 0, 0, 0, 0, 0, 1}));
        assertThat(boundaries.broken()).isTrue();
        assertThat(boundaries.atBoundary()).isFalse();
        boundaries.scan(Unpooled.wrappedBuffer(new byte[] {(byte) 0x82, 0}));
        assertThat(boundaries.atBoundary()).as("stays lost").isFalse();
    }

    @Test
    void aCloseCountsAsPassedOnlyOnceItIsWhole() {
        FrameBoundaries boundaries = new FrameBoundaries();
        List<ByteBuf> frames = encode(true, List.of(new PingWebSocketFrame(Unpooled.wrappedBuffer(new byte[] {9})),
                new CloseWebSocketFrame(1001, "")));
        boundaries.scan(frames.get(0));
        assertThat(boundaries.closePassed()).as("after a Ping").isFalse();
        ByteBuf close = frames.get(1);
        boundaries.scan(close.slice(0, close.readableBytes() - 1));
        assertThat(boundaries.closePassed()).as("all of a Close but its last byte").isFalse();
        boundaries.scan(close.slice(close.readableBytes() - 1, 1));
        assertThat(boundaries.closePassed()).isTrue();
        assertThat(boundaries.atBoundary()).isTrue();
        frames.forEach(ByteBuf::release);
    }

    @Test
    void scanToBoundaryStopsAtTheFirstFrameEnd() {
        FrameBoundaries boundaries = new FrameBoundaries();
        // a whole frame with a 2-byte payload, then the first 3 bytes of the next
        ByteBuf bytes = Unpooled.wrappedBuffer(new byte[] {(byte) 0x82, 2, 7, 7, (byte) 0x82, 4, 1});
        assertThat(boundaries.scanToBoundary(bytes)).as("at a boundary already").isZero();
        boundaries.scan(bytes.slice(0, 1));
        assertThat(boundaries.scanToBoundary(bytes.slice(1, 6))).as("index in the slice after the first frame")
                .isEqualTo(3);
        assertThat(boundaries.atBoundary()).isTrue();
        assertThat(boundaries.frames()).isEqualTo(1);
        assertThat(boundaries.scanToBoundary(bytes.slice(4, 3))).as("at the boundary it stopped at").isZero();
        boundaries.scan(bytes.slice(4, 1));
        assertThat(boundaries.scanToBoundary(bytes.slice(5, 2))).as("no boundary: all scanned").isEqualTo(2);
        assertThat(boundaries.atBoundary()).isFalse();
        bytes.release();
    }

    @ParameterizedTest
    @ValueSource(ints = {CloseFrames.GOING_AWAY, CloseFrames.SERVICE_RESTART})
    void closeFramesAreReadByAStrictDecoderOfEachSide(int code) {
        CloseWebSocketFrame atClient = decode(CloseFrames.toClient(ByteBufAllocator.DEFAULT, code), false);
        CloseWebSocketFrame atBackend = decode(CloseFrames.toBackend(ByteBufAllocator.DEFAULT, code), true);

        assertThat(atClient.statusCode()).isEqualTo(code);
        assertThat(atBackend.statusCode()).isEqualTo(code);
        atClient.release();
        atBackend.release();
    }

    /** Netty's decoder as the receiving side: a server requires masked frames (RFC 6455 §5.1), a client none. */
    private static CloseWebSocketFrame decode(ByteBuf frame, boolean expectMasked) {
        EmbeddedChannel decoder = new EmbeddedChannel(new WebSocket08FrameDecoder(WebSocketDecoderConfig.newBuilder()
                .expectMaskedFrames(expectMasked).allowMaskMismatch(false).build()));
        FrameBoundaries boundaries = new FrameBoundaries();
        boundaries.scan(frame);
        assertThat(boundaries.frames()).isEqualTo(1);
        decoder.writeInbound(frame);
        CloseWebSocketFrame close = decoder.readInbound();
        decoder.finishAndReleaseAll();
        return close;
    }
}
