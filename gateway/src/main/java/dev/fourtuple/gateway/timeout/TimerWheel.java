package dev.fourtuple.gateway.timeout;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import io.netty.util.concurrent.Ticker;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A hashed timing wheel confined to one event loop: every timeout of every connection on the loop, driven by
 * one periodic task.
 *
 * <p>Why not {@code IdleStateHandler} or Netty's {@code HashedWheelTimer}: both put a scheduled task (an object
 * in a queue, re-created on every re-arm) behind each connection. Here each connection owns one
 * {@link Entry} for its whole life; arming, re-arming and disarming only relink it between buckets. An entry
 * whose owner extends its own deadline lazily (inactivity timeouts: the owner notes "last activity" in a
 * field) is simply told when the old deadline passes and re-arms itself then, so busy connections cost a
 * field write per read, not a relink.
 *
 * <p>Concurrency note: not thread-safe by design. Every method must be called on {@link #loop()}.
 */
public final class TimerWheel {

    /** Told when its entry's deadline has passed. Runs on the wheel's loop. */
    public interface Owner {
        /**
         * The deadline has passed; the entry is now disarmed. The owner may act (close, answer 504) or re-arm
         * its entry if its real deadline has moved on.
         */
        void onDeadline(long nowNanos);
    }

    /** A connection's membership in the wheel. Create with {@link #register}. */
    public static final class Entry {
        private static final int PARKED = -1;
        private static final int FIRING = -2;
        private static final int GONE = -3;

        private final Owner owner;
        private Entry prev = this;
        private Entry next = this;
        private long deadline;
        private int bucket = GONE;

        private Entry(Owner owner) {
            this.owner = owner;
        }

        /** True while a deadline is set and has not fired. */
        public boolean isArmed() {
            return bucket >= 0;
        }

        public long deadline() {
            return deadline;
        }
    }

    private static final Logger log = LoggerFactory.getLogger(TimerWheel.class);
    private static final int WHEEL_SIZE = 1024; // ~102 s per turn at the default tick
    private static final long DEFAULT_TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final EventLoop loop;
    private final Ticker ticker;
    private final long tickNanos;
    private final long origin;
    private final Entry[] buckets = new Entry[WHEEL_SIZE];
    private final Entry parked = new Entry(now -> { });
    private final List<Entry> firing = new ArrayList<>();
    private long processedTick;
    private int size;
    private @Nullable ScheduledFuture<?> tickTask;

    private TimerWheel(EventLoop loop, long tickNanos) {
        this.loop = loop;
        this.ticker = loop.ticker();
        this.tickNanos = tickNanos;
        this.origin = ticker.nanoTime();
        for (int i = 0; i < WHEEL_SIZE; i++) {
            buckets[i] = new Entry(now -> { });
        }
    }

    /** A wheel for the loop, ticking every 100 ms. */
    public static TimerWheel start(EventLoop loop) {
        return start(loop, DEFAULT_TICK_NANOS);
    }

    static TimerWheel start(EventLoop loop, long tickNanos) {
        TimerWheel wheel = new TimerWheel(loop, tickNanos);
        wheel.tickTask = loop.scheduleAtFixedRate(wheel::tick, tickNanos, tickNanos, TimeUnit.NANOSECONDS);
        return wheel;
    }

    public EventLoop loop() {
        return loop;
    }

    /**
     * The loop's clock (its {@link Ticker}), the scale of every deadline here. Use it, not
     * {@link System#nanoTime()}, for anything compared with a deadline: tests drive it with a mock ticker.
     */
    public long now() {
        return ticker.nanoTime();
    }

    /** Adds an owner, disarmed. */
    public Entry register(Owner owner) {
        Entry entry = new Entry(owner);
        linkParked(entry);
        size++;
        return entry;
    }

    /** Arms (or re-arms) the entry to fire at {@code deadlineNanos} ({@link #now()} scale). */
    public void schedule(Entry entry, long deadlineNanos) {
        if (entry.bucket == Entry.GONE) {
            return;
        }
        unlink(entry);
        entry.deadline = deadlineNanos;
        // Round up: the bucket must be visited at or after the deadline, never in the tick just before it
        // (which would leave the entry waiting a whole turn of the wheel).
        long sinceOrigin = Math.max(0, deadlineNanos - origin);
        long tick = Math.max((sinceOrigin + tickNanos - 1) / tickNanos, processedTick + 1);
        int index = (int) (tick & (WHEEL_SIZE - 1));
        link(buckets[index], entry);
        entry.bucket = index;
    }

    /** Arms the entry {@code timeoutNanos} from now. */
    public void scheduleAfter(Entry entry, long timeoutNanos) {
        schedule(entry, now() + timeoutNanos);
    }

    /** Disarms the entry; it stays registered. */
    public void disarm(Entry entry) {
        if (entry.bucket == Entry.GONE || entry.bucket == Entry.PARKED) {
            return;
        }
        unlink(entry);
        linkParked(entry);
    }

    /** Removes the entry for good (its connection closed). Safe to call twice. */
    public void unregister(Entry entry) {
        if (entry.bucket == Entry.GONE) {
            return;
        }
        unlink(entry);
        entry.bucket = Entry.GONE;
        size--;
    }

    /** Number of registered entries (≈ connections on this loop that use the wheel). */
    public int size() {
        return size;
    }

    /** Stops ticking. Entries are left as they are; their channels close with the loop. */
    public void stop() {
        ScheduledFuture<?> task = tickTask;
        if (task != null) {
            task.cancel(false);
        }
    }

    void tick() {
        long now = now();
        long target = (now - origin) / tickNanos;
        long from = Math.max(processedTick + 1, target - WHEEL_SIZE + 1);
        for (long t = from; t <= target; t++) {
            collectExpired(buckets[(int) (t & (WHEEL_SIZE - 1))], now);
        }
        processedTick = Math.max(processedTick, target);
        fire(now);
    }

    private void collectExpired(Entry head, long now) {
        Entry entry = head.next;
        while (entry != head) {
            Entry following = entry.next;
            if (entry.deadline - now <= 0) {
                unlink(entry);
                entry.bucket = Entry.FIRING;
                firing.add(entry);
            }
            entry = following;
        }
    }

    private void fire(long now) {
        for (int i = 0; i < firing.size(); i++) {
            Entry entry = firing.get(i);
            if (entry.bucket != Entry.FIRING) {
                continue; // an earlier owner in this batch re-armed or unregistered it
            }
            linkParked(entry);
            try {
                entry.owner.onDeadline(now);
            } catch (RuntimeException e) {
                // One owner's bug must not stop the tick task, which would freeze every timeout on the loop.
                log.error("timeout handler of {} failed", entry.owner, e);
            }
        }
        firing.clear();
    }

    private void linkParked(Entry entry) {
        link(parked, entry);
        entry.bucket = Entry.PARKED;
    }

    private static void link(Entry head, Entry entry) {
        entry.prev = head.prev;
        entry.next = head;
        head.prev.next = entry;
        head.prev = entry;
    }

    private static void unlink(Entry entry) {
        if (entry.bucket < 0 && entry.bucket != Entry.PARKED) {
            return; // FIRING or GONE: not in any list
        }
        entry.prev.next = entry.next;
        entry.next.prev = entry.prev;
        entry.prev = entry;
        entry.next = entry;
    }
}
