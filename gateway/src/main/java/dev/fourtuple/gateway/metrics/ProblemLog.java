package dev.fourtuple.gateway.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts every {@link Problem} and logs at most one line per cause per interval, saying how many were
 * suppressed since the last line. A storm of resets or refused connections costs a counter increment each,
 * never a log line each.
 */
public final class ProblemLog {
    private static final Logger log = LoggerFactory.getLogger(ProblemLog.class);

    private final long intervalNanos;
    private final Map<Problem, Slot> slots = new EnumMap<>(Problem.class);

    private static final class Slot {
        final Counter counter;
        final AtomicLong lastLogNanos = new AtomicLong(Long.MIN_VALUE);
        final LongAdder suppressed = new LongAdder();

        Slot(Counter counter) {
            this.counter = counter;
        }
    }

    public ProblemLog(MeterRegistry registry, Duration interval) {
        this.intervalNanos = interval.toNanos();
        for (Problem problem : Problem.values()) {
            Counter counter = Counter.builder("fourtuple.problems")
                    .description("Expected failures by cause")
                    .tag("cause", problem.tag())
                    .register(registry);
            slots.put(problem, new Slot(counter));
        }
    }

    /** Counts the problem and maybe logs it; {@code detail} names the peer or value involved. */
    public void report(Problem problem, String detail) {
        Slot slot = slots.get(problem);
        slot.counter.increment();
        long now = System.nanoTime();
        long last = slot.lastLogNanos.get();
        if (last != Long.MIN_VALUE && now - last < intervalNanos) {
            slot.suppressed.increment();
            return;
        }
        if (!slot.lastLogNanos.compareAndSet(last, now)) {
            slot.suppressed.increment();
            return;
        }
        long suppressed = slot.suppressed.sumThenReset();
        String more = suppressed > 0 ? " (+" + suppressed + " more since the last line)" : "";
        if (problem.serverSide()) {
            log.warn("{}: {}{}", problem.description(), detail, more);
        } else {
            log.info("{}: {}{}", problem.description(), detail, more);
        }
    }

    /** How many times the problem was reported (tests, status). */
    public long count(Problem problem) {
        return (long) slots.get(problem).counter.count();
    }
}
