package dev.fourtuple.bench;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.jspecify.annotations.Nullable;

/**
 * A paced echo on open tunnels ({@link TunnelClients#handOver handed over}): every tunnel sends a 16-byte
 * binary frame (a sequence number and the send time) once a period, at a phase of its own, whether or not the
 * previous one came back; an echo backend sends each one back. Per tunnel it checks what comes back (in
 * order, none twice, none missing at the end, the tunnel never closed) and keeps, per measuring window, the
 * longest gap between two consecutive echoes received: the longest pause that tunnel saw.
 *
 * <p>Windows are numbered from 1 ({@link #window}); 0 is outside every window (warm-up, the tail). A gap
 * counts in the window in which it ends. Thread affinity: each tunnel's state lives on its channel's loop.
 */
public final class PacedEcho {
    static final int FRAME_BYTES = 16;

    private final long periodNanos;
    private final List<Pacer> pacers = new ArrayList<>();
    private final Recorder[] roundTrips;
    private volatile int window;
    private volatile boolean sending = true;
    private volatile @Nullable Timeline timeline;

    private PacedEcho(Duration period, int windows) {
        this.periodNanos = period.toNanos();
        this.roundTrips = new Recorder[windows + 1];
        for (int i = 0; i <= windows; i++) {
            roundTrips[i] = new Recorder(TimeUnit.SECONDS.toNanos(60), 2);
        }
    }

    /** Starts pacing every tunnel of {@code tunnels}: one frame each per {@code period}, phases spread at random. */
    public static PacedEcho start(List<Channel> tunnels, Duration period, int windows) {
        PacedEcho echo = new PacedEcho(period, windows);
        for (Channel tunnel : tunnels) {
            Pacer pacer = echo.new Pacer(tunnel, windows);
            echo.pacers.add(pacer);
            tunnel.eventLoop().execute(() -> {
                tunnel.pipeline().addLast(pacer);
                long phase = ThreadLocalRandom.current().nextLong(echo.periodNanos);
                pacer.ticks = tunnel.eventLoop().scheduleAtFixedRate(pacer::tick, phase, echo.periodNanos,
                        TimeUnit.NANOSECONDS);
            });
        }
        return echo;
    }

    /** Echoes received from now on count in window {@code number} (0: in none). */
    public void window(int number) {
        window = number;
    }

    /**
     * From now on, also keeps per {@code bucket} (from now, {@code buckets} of them) the longest gap that ended
     * in it and the echoes received in it: when, within a window, the pauses came.
     */
    public void timeline(Duration bucket, int buckets) {
        timeline = new Timeline(System.nanoTime(), bucket.toNanos(), buckets);
    }

    public @Nullable Timeline timeline() {
        return timeline;
    }

    /** Round trips (send to echo, nanoseconds) of the echoes received in window {@code number}. */
    public Histogram roundTrips(int number) {
        return roundTrips[number].getIntervalHistogram();
    }

    /**
     * Stops sending, waits (at most {@code grace}) until every frame sent has come back or its tunnel closed,
     * and returns each tunnel's account.
     */
    public List<TunnelResult> stop(Duration grace) throws InterruptedException, ExecutionException {
        sending = false;
        long deadline = System.nanoTime() + grace.toNanos();
        List<TunnelResult> results = collect();
        while (System.nanoTime() - deadline < 0 && !results.stream().allMatch(TunnelResult::settled)) {
            Thread.sleep(50);
            results = collect();
        }
        return results;
    }

    private List<TunnelResult> collect() throws InterruptedException, ExecutionException {
        List<Future<TunnelResult>> futures = new ArrayList<>(pacers.size());
        for (Pacer pacer : pacers) {
            futures.add(pacer.channel.eventLoop().submit(pacer::result));
        }
        List<TunnelResult> results = new ArrayList<>(futures.size());
        for (Future<TunnelResult> future : futures) {
            results.add(future.get());
        }
        return results;
    }

    /**
     * One tunnel's account.
     *
     * @param sent        frames sent
     * @param received    distinct frames echoed back
     * @param duplicated  echoes of a frame that had come back already
     * @param reordered   echoes that came after a later frame's
     * @param malformed   frames back that were not one of ours
     * @param closed      the tunnel closed (or failed) while the echo ran
     * @param maxGapNanos per window (index 0: outside every window), the longest gap between consecutive echoes
     */
    public record TunnelResult(long sent, long received, long duplicated, long reordered, long malformed,
            boolean closed, long[] maxGapNanos) {
        /** Every frame sent came back, or nothing more can. */
        boolean settled() {
            return closed || received + malformed >= sent;
        }

        public long lost() {
            return sent - received;
        }
    }

    /** Per bucket of time: the longest gap that ended in it, and the echoes received in it. */
    public static final class Timeline {
        private final long origin;
        private final long bucketNanos;
        private final AtomicLongArray maxGap;
        private final AtomicLongArray echoes;

        Timeline(long origin, long bucketNanos, int buckets) {
            this.origin = origin;
            this.bucketNanos = bucketNanos;
            this.maxGap = new AtomicLongArray(buckets);
            this.echoes = new AtomicLongArray(buckets);
        }

        void record(long now, long gap) {
            long bucket = (now - origin) / bucketNanos;
            if (bucket >= 0 && bucket < maxGap.length()) {
                int i = (int) bucket;
                maxGap.accumulateAndGet(i, gap, Math::max);
                echoes.incrementAndGet(i);
            }
        }

        public long origin() {
            return origin;
        }

        public long bucketNanos() {
            return bucketNanos;
        }

        public int buckets() {
            return maxGap.length();
        }

        public long maxGapNanos(int bucket) {
            return maxGap.get(bucket);
        }

        public long echoes(int bucket) {
            return echoes.get(bucket);
        }
    }

    /** One tunnel's pacing and checks; last in its pipeline, after the WebSocket frame codec. */
    private final class Pacer extends SimpleChannelInboundHandler<WebSocketFrame> {
        private final Channel channel;
        private final long[] maxGap;
        private final BitSet seen = new BitSet();
        private @Nullable ScheduledFuture<?> ticks;
        private long nextSeq;
        private long received;
        private long duplicated;
        private long reordered;
        private long malformed;
        private long highest = -1;
        private long lastAt;
        private boolean closed;

        Pacer(Channel channel, int windows) {
            this.channel = channel;
            this.maxGap = new long[windows + 1];
        }

        void tick() {
            if (!sending || closed) {
                ScheduledFuture<?> scheduled = ticks;
                if (scheduled != null) {
                    scheduled.cancel(false);
                }
                return;
            }
            ByteBuf frame = channel.alloc().buffer(FRAME_BYTES).writeLong(nextSeq++).writeLong(System.nanoTime());
            channel.writeAndFlush(new BinaryWebSocketFrame(frame), channel.voidPromise());
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
            long now = System.nanoTime();
            ByteBuf content = frame.content();
            if (!(frame instanceof BinaryWebSocketFrame) || content.readableBytes() != FRAME_BYTES) {
                malformed++;
                return;
            }
            long seq = content.getLong(content.readerIndex());
            long sentAt = content.getLong(content.readerIndex() + 8);
            if (seq < 0 || seq >= nextSeq || seq > Integer.MAX_VALUE) {
                malformed++;
                return;
            }
            if (seen.get((int) seq)) {
                duplicated++;
                return;
            }
            seen.set((int) seq);
            received++;
            if (seq < highest) {
                reordered++;
            }
            highest = Math.max(highest, seq);
            int w = window;
            if (lastAt != 0) {
                long gap = now - lastAt;
                maxGap[w] = Math.max(maxGap[w], gap);
                Timeline t = timeline;
                if (t != null) {
                    t.record(now, gap);
                }
            }
            lastAt = now;
            roundTrips[w].recordValue(Math.min(now - sentAt, TimeUnit.SECONDS.toNanos(60)));
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            closed = true;
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            closed = true;
            ctx.close();
        }

        TunnelResult result() {
            return new TunnelResult(nextSeq, received, duplicated, reordered, malformed, closed || !channel.isActive(),
                    maxGap.clone());
        }
    }
}
