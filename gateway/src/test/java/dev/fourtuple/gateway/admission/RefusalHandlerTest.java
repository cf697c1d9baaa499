package dev.fourtuple.gateway.admission;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;

import dev.fourtuple.gateway.timeout.TimerWheel;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link RefusalHandler} as the whole pipeline of a refused connection, with retry-after = 2s and
 * retry-after-jitter = 3s. The lingering second runs on a {@link TimerWheel} of the channel's own loop, with the
 * loop's clock frozen so that it moves only when the test says so.
 *
 * <p>A TCP connection is a {@link DuplexChannel}: the handler shuts its output after the 503 and lingers.
 * {@link EmbeddedChannel} is not one, so the lingering tests use {@link HalfClosableChannel}, an
 * EmbeddedChannel that records the shutdowns.
 */
class RefusalHandlerTest {
    private static final long AVAILABLE = 380;

    @TempDir
    Path dir;
    private final List<EmbeddedChannel> channels = new ArrayList<>();
    private final List<TimerWheel> wheels = new ArrayList<>();
    private AdmissionController controller;
    private long elapsedMs;

    @BeforeEach
    void controller() {
        ProcFixture fixture = ProcFixture.create(dir, 400, 21);
        controller = new AdmissionController(ProcFixture.settings("retry-after = 2s\nretry-after-jitter = 3s"),
                new SimpleMeterRegistry(), () -> 0, fixture.proc, fixture.cgroup);
    }

    @AfterEach
    void closeAll() {
        wheels.forEach(TimerWheel::stop);
        for (EmbeddedChannel ch : channels) {
            ch.close();
            written(ch);
            assertThat(ch.finishAndReleaseAll()).isFalse();
        }
        controller.close();
    }

    /** An EmbeddedChannel that can half-close, like a TCP socket. */
    static final class HalfClosableChannel extends EmbeddedChannel implements DuplexChannel {
        private boolean inputShutdown;
        private boolean outputShutdown;

        @Override
        public boolean isInputShutdown() {
            return inputShutdown;
        }

        @Override
        public ChannelFuture shutdownInput() {
            return shutdownInput(newPromise());
        }

        @Override
        public ChannelFuture shutdownInput(ChannelPromise promise) {
            inputShutdown = true;
            return promise.setSuccess();
        }

        @Override
        public boolean isOutputShutdown() {
            return outputShutdown;
        }

        @Override
        public ChannelFuture shutdownOutput() {
            return shutdownOutput(newPromise());
        }

        @Override
        public ChannelFuture shutdownOutput(ChannelPromise promise) {
            outputShutdown = true;
            return promise.setSuccess();
        }

        @Override
        public boolean isShutdown() {
            return inputShutdown && outputShutdown;
        }

        @Override
        public ChannelFuture shutdown() {
            return shutdown(newPromise());
        }

        @Override
        public ChannelFuture shutdown(ChannelPromise promise) {
            inputShutdown = true;
            outputShutdown = true;
            return promise.setSuccess();
        }
    }

    /** The channel with a wheel on its loop and the refusal pipeline, activated as a new connection is. */
    private <C extends EmbeddedChannel> C refuse(C ch) {
        channels.add(ch);
        ch.freezeTime();
        TimerWheel wheel = TimerWheel.start(ch.eventLoop());
        wheels.add(wheel);
        ch.pipeline().addLast(RefusalHandler.NAME, controller.refusalHandler(wheel));
        ch.pipeline().fireChannelActive();
        return ch;
    }

    /** Everything written, as text; every buffer released. */
    private static String written(EmbeddedChannel ch) {
        StringBuilder text = new StringBuilder();
        Object msg;
        while ((msg = ch.readOutbound()) != null) {
            ByteBuf buf = (ByteBuf) msg;
            try {
                text.append(buf.toString(US_ASCII));
            } finally {
                buf.release();
            }
        }
        return text.toString();
    }

    private record Response(String statusLine, Map<String, String> headers, String body) {
        static Response parse(String text) {
            int end = text.indexOf("\r\n\r\n");
            assertThat(end).as("end of the header in %s", text).isPositive();
            String[] lines = text.substring(0, end).split("\r\n");
            Map<String, String> headers = new LinkedHashMap<>();
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                headers.put(lines[i].substring(0, colon).toLowerCase(), lines[i].substring(colon + 1).trim());
            }
            return new Response(lines[0], headers, text.substring(end + 4));
        }

        int retryAfter() {
            return Integer.parseInt(headers.get("retry-after"));
        }
    }

    private void advanceTo(EmbeddedChannel ch, long toMs) {
        while (elapsedMs < toMs) {
            long step = Math.min(100 - elapsedMs % 100, toMs - elapsedMs);
            ch.advanceTimeBy(step, TimeUnit.MILLISECONDS);
            elapsedMs += step;
            ch.runScheduledPendingTasks();
        }
    }

    @Test
    void writesA503WithRetryAfterOnActive() {
        HalfClosableChannel ch = refuse(new HalfClosableChannel());

        Response response = Response.parse(written(ch));

        assertThat(response.statusLine()).isEqualTo("HTTP/1.1 503 Service Unavailable");
        assertThat(response.retryAfter()).isBetween(2, 5);
        assertThat(response.headers()).containsEntry("connection", "close");
        assertThat(response.headers()).containsEntry("content-length",
                Integer.toString(response.body().getBytes(US_ASCII).length));
        assertThat(response.body()).isEqualTo("503 Service Unavailable\n");
    }

    @Test
    void shutsItsOutputAfterThe503AndStaysOpenToReadTheRequest() {
        HalfClosableChannel ch = refuse(new HalfClosableChannel());

        assertThat(written(ch)).startsWith("HTTP/1.1 503 ");
        assertThat(ch.isOutputShutdown()).isTrue();
        assertThat(ch.isOpen()).isTrue();
    }

    @Test
    void requestBytesAreReadAndReleased() {
        HalfClosableChannel ch = refuse(new HalfClosableChannel());
        written(ch);
        ByteBuf request = Unpooled.copiedBuffer("GET / HTTP/1.1\r\nHost: example\r\n\r\n", US_ASCII);
        ByteBuf more = Unpooled.copiedBuffer("POST /upload HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", US_ASCII);

        assertThat(ch.writeInbound(request, more)).as("nothing passes the refusal handler").isFalse();

        assertThat(request.refCnt()).isZero();
        assertThat(more.refCnt()).isZero();
        assertThat(written(ch)).as("no second response").isEmpty();
        assertThat(ch.isOpen()).isTrue();
    }

    @Test
    void closesWhenTheClientHasClosedItsSide() {
        HalfClosableChannel ch = refuse(new HalfClosableChannel());
        written(ch);

        ch.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);

        assertThat(ch.isOpen()).isFalse();
        assertThat(wheels.get(0).size()).as("its wheel entry is gone").isZero();
    }

    @Test
    void closesAfterLingeringOneSecond() {
        HalfClosableChannel ch = refuse(new HalfClosableChannel());
        written(ch);
        assertThat(wheels.get(0).size()).isEqualTo(1);

        advanceTo(ch, 900);
        assertThat(ch.isOpen()).as("still lingering at 900 ms").isTrue();

        advanceTo(ch, 1100);
        assertThat(ch.isOpen()).as("closed once the second is over").isFalse();
        assertThat(wheels.get(0).size()).isZero();
    }

    @Test
    void aRefusalHoldsOneFdUntilItCloses() {
        HalfClosableChannel ch = refuse(new HalfClosableChannel());
        written(ch);
        assertThat(controller.freeFds()).isEqualTo(AVAILABLE - 1);

        advanceTo(ch, 1100);

        assertThat(ch.isOpen()).isFalse();
        assertThat(controller.freeFds()).isEqualTo(AVAILABLE);
    }

    @Test
    void withoutHalfClosureTheConnectionClosesAfterThe503() {
        EmbeddedChannel ch = refuse(new EmbeddedChannel());

        assertThat(Response.parse(written(ch)).statusLine()).isEqualTo("HTTP/1.1 503 Service Unavailable");
        assertThat(ch.isOpen()).isFalse();
        assertThat(controller.freeFds()).isEqualTo(AVAILABLE);
        assertThat(wheels.get(0).size()).isZero();
    }

    @Test
    void anExceptionCloses() {
        HalfClosableChannel ch = refuse(new HalfClosableChannel());
        written(ch);

        ch.pipeline().fireExceptionCaught(new IOException("Connection reset by peer"));

        assertThat(ch.isOpen()).isFalse();
    }

    @Test
    void retryAfterIsJitteredOverRefusals() {
        Set<Integer> seen = new TreeSet<>();
        for (int i = 0; i < 64; i++) {
            EmbeddedChannel ch = refuse(new EmbeddedChannel());
            Response response = Response.parse(written(ch));
            assertThat(response.statusLine()).isEqualTo("HTTP/1.1 503 Service Unavailable");
            seen.add(response.retryAfter());
        }

        assertThat(seen).as("Retry-After values seen").hasSizeGreaterThan(1).allSatisfy(
                seconds -> assertThat(seconds).isBetween(2, 5));
    }

    @Test
    void everyWholeSecondOfTheJitterIsUsed() {
        RefusalResponses responses = new RefusalResponses(Duration.ofSeconds(2), Duration.ofSeconds(3));
        Set<Integer> seen = new TreeSet<>();
        for (int i = 0; i < 400; i++) {
            ByteBuf picked = responses.pick();
            seen.add(Response.parse(picked.toString(US_ASCII)).retryAfter());
            picked.release();
        }

        assertThat(seen).containsExactly(2, 3, 4, 5);
    }

    @Test
    void withoutJitterRetryAfterIsTheBase() {
        RefusalResponses responses = new RefusalResponses(Duration.ofSeconds(7), Duration.ZERO);

        for (int i = 0; i < 20; i++) {
            ByteBuf picked = responses.pick();
            assertThat(Response.parse(picked.toString(US_ASCII)).retryAfter()).isEqualTo(7);
            picked.release();
        }
    }

    @Test
    void theSharedResponseIsNotConsumedByAWrite() {
        RefusalResponses responses = new RefusalResponses(Duration.ofSeconds(2), Duration.ZERO);
        ByteBuf first = responses.pick();
        first.skipBytes(first.readableBytes());
        first.release();

        ByteBuf second = responses.pick();

        assertThat(second.toString(US_ASCII)).startsWith("HTTP/1.1 503 Service Unavailable\r\n");
        assertThat(second.refCnt()).isPositive();
        second.release();
    }
}
