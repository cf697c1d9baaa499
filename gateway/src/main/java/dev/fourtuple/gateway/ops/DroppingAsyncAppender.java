package dev.fourtuple.gateway.ops;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.spi.ILoggingEvent;
import java.util.concurrent.atomic.LongAdder;

/**
 * Logback's {@link AsyncAppender} that never blocks the thread that logs, and counts what it drops.
 *
 * <p>Event loops log (a refused connection, a backend gone), and a synchronous console appender writes on
 * the logging thread: when stdout stalls (journald under load, a full pipe) the loop stalls with it, and
 * every connection on it. Here the loop only queues the event; one background thread writes. With the queue
 * full the event is dropped ({@code neverBlock}) and counted ({@link #dropped()}, exported as
 * {@code fourtuple_log_events_dropped_total}), rather than the loop waiting. No event is discarded while
 * there is room ({@code discardingThreshold = 0}; Logback's default drops INFO at 80% full).
 */
public final class DroppingAsyncAppender extends AsyncAppender {
    private static final LongAdder DROPPED = new LongAdder();

    public DroppingAsyncAppender() {
        setNeverBlock(true);
        setDiscardingThreshold(0);
    }

    @Override
    protected void append(ILoggingEvent event) {
        if (getRemainingCapacity() == 0) { // the queue is full: put() would drop it without a word
            DROPPED.increment();
            return;
        }
        super.append(event); // (a race with another logger for the last slot drops it uncounted: rare, harmless)
    }

    /** Events dropped because the queue was full, since the JVM started. */
    public static long dropped() {
        return DROPPED.sum();
    }
}
