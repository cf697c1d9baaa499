package dev.fourtuple.gateway.timeout;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Drives a {@link TimerWheel} on an {@link EmbeddedChannel}'s loop with the loop's clock frozen, so that time
 * moves only when the test says so. The wheel starts at time 0 (its origin); its ticks run at 100 ms, 200 ms…
 */
class TimerWheelTest {
    private static final long TICK_MS = 100;
    private static final long TURN_MS = 1024 * TICK_MS;

    private EmbeddedChannel ch;
    private TimerWheel wheel;
    /** Time since the wheel's origin, as advanced by this test. */
    private long elapsedMs;

    @BeforeEach
    void startWheel() {
        ch = new EmbeddedChannel();
        ch.freezeTime();
        wheel = TimerWheel.start(ch.eventLoop());
    }

    @AfterEach
    void stopWheel() {
        wheel.stop();
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    /** Moves the clock forward one tick at a time, running the wheel's tick at each, until {@code toMs}. */
    private void advanceTo(long toMs) {
        while (elapsedMs < toMs) {
            long step = Math.min(TICK_MS, toMs - elapsedMs);
            ch.advanceTimeBy(step, TimeUnit.MILLISECONDS);
            elapsedMs += step;
            ch.runScheduledPendingTasks();
        }
    }

    private long at(long ms) {
        return wheel.now() - TimeUnit.MILLISECONDS.toNanos(elapsedMs) + TimeUnit.MILLISECONDS.toNanos(ms);
    }

    /** An owner that records the clock at each firing. */
    private final class Recorder implements TimerWheel.Owner {
        final List<Long> firedAtMs = new ArrayList<>();

        @Override
        public void onDeadline(long nowNanos) {
            firedAtMs.add(elapsedMs);
        }
    }

    @Test
    void armedEntryFiresOnceAtItsDeadlineAndNotBefore() {
        Recorder owner = new Recorder();
        TimerWheel.Entry entry = wheel.register(owner);
        wheel.scheduleAfter(entry, TimeUnit.SECONDS.toNanos(1));
        assertThat(entry.isArmed()).isTrue();

        advanceTo(900);
        assertThat(owner.firedAtMs).isEmpty();

        advanceTo(1000);
        assertThat(owner.firedAtMs).containsExactly(1000L);
        assertThat(entry.isArmed()).isFalse();

        advanceTo(3 * TURN_MS);
        assertThat(owner.firedAtMs).as("fires once, also not on later turns of the wheel").containsExactly(1000L);
        assertThat(wheel.size()).as("a fired entry stays registered").isEqualTo(1);
    }

    @Test
    void deadlineBetweenTwoTicksFiresAtTheFirstTickAfterIt() {
        // A real loop arms deadlines at any phase of the tick: now() + timeout is almost never a multiple of it.
        Recorder owner = new Recorder();
        TimerWheel.Entry entry = wheel.register(owner);
        wheel.schedule(entry, at(250));

        advanceTo(200);
        assertThat(owner.firedAtMs).as("not before the deadline").isEmpty();

        advanceTo(300);
        assertThat(owner.firedAtMs).as("within one tick after the deadline").containsExactly(300L);
    }

    @Test
    void deadlineArmedBetweenTicksFiresWithinOneTickOfTimeout() {
        Recorder owner = new Recorder();
        TimerWheel.Entry entry = wheel.register(owner);
        advanceTo(10_000);
        ch.advanceTimeBy(37, TimeUnit.MILLISECONDS); // the connection arrives between two ticks
        elapsedMs += 37;
        wheel.scheduleAfter(entry, TimeUnit.SECONDS.toNanos(10)); // due at 20.037 s

        advanceTo(20_000);
        assertThat(owner.firedAtMs).isEmpty();

        advanceTo(20_200);
        assertThat(owner.firedAtMs).as("a 10 s timeout must not fire a wheel turn (~102 s) late")
                .containsExactly(20_100L);
    }

    @Test
    void deadlineAlreadyPastFiresAtTheNextTick() {
        Recorder owner = new Recorder();
        TimerWheel.Entry entry = wheel.register(owner);
        advanceTo(5_000);
        wheel.schedule(entry, at(1_000));

        assertThat(owner.firedAtMs).isEmpty();
        advanceTo(5_100);
        assertThat(owner.firedAtMs).containsExactly(5_100L);
    }

    @Test
    void disarmedEntryDoesNotFire() {
        Recorder owner = new Recorder();
        TimerWheel.Entry entry = wheel.register(owner);
        wheel.scheduleAfter(entry, TimeUnit.SECONDS.toNanos(1));
        advanceTo(500);

        wheel.disarm(entry);
        assertThat(entry.isArmed()).isFalse();
        advanceTo(2 * TURN_MS);

        assertThat(owner.firedAtMs).isEmpty();
        assertThat(wheel.size()).as("disarming keeps the entry registered").isEqualTo(1);
    }

    @Test
    void rearmingLaterMovesTheDeadline() {
        Recorder owner = new Recorder();
        TimerWheel.Entry entry = wheel.register(owner);
        wheel.schedule(entry, at(1_000));
        wheel.schedule(entry, at(3_000));
        assertThat(entry.deadline()).isEqualTo(at(3_000));

        advanceTo(2_900);
        assertThat(owner.firedAtMs).as("the old deadline no longer applies").isEmpty();
        advanceTo(3_000);
        assertThat(owner.firedAtMs).containsExactly(3_000L);
    }

    @Test
    void rearmingEarlierMovesTheDeadlineAndDropsTheOldOne() {
        Recorder owner = new Recorder();
        TimerWheel.Entry entry = wheel.register(owner);
        wheel.schedule(entry, at(5_000));
        wheel.schedule(entry, at(1_000));

        advanceTo(1_000);
        assertThat(owner.firedAtMs).containsExactly(1_000L);
        advanceTo(10_000);
        assertThat(owner.firedAtMs).containsExactly(1_000L);
    }

    @Test
    void unregisterRemovesTheEntryAndIsIdempotent() {
        Recorder owner = new Recorder();
        Recorder other = new Recorder();
        TimerWheel.Entry entry = wheel.register(owner);
        wheel.register(other);
        wheel.scheduleAfter(entry, TimeUnit.SECONDS.toNanos(1));
        assertThat(wheel.size()).isEqualTo(2);

        wheel.unregister(entry);
        assertThat(wheel.size()).isEqualTo(1);
        wheel.unregister(entry);
        assertThat(wheel.size()).as("a second unregister changes nothing").isEqualTo(1);
        assertThat(entry.isArmed()).isFalse();

        wheel.scheduleAfter(entry, TimeUnit.SECONDS.toNanos(1)); // ignored: the entry is gone
        advanceTo(3_000);
        assertThat(owner.firedAtMs).isEmpty();
        assertThat(wheel.size()).isEqualTo(1);
    }

    @Test
    void ownerRearmingItselfFromOnDeadlineFiresAgain() {
        List<Long> fired = new ArrayList<>();
        TimerWheel.Entry[] self = new TimerWheel.Entry[1];
        self[0] = wheel.register(now -> {
            fired.add(elapsedMs);
            if (fired.size() < 3) {
                wheel.schedule(self[0], now + TimeUnit.SECONDS.toNanos(1));
            }
        });
        wheel.scheduleAfter(self[0], TimeUnit.SECONDS.toNanos(1));

        advanceTo(10_000);

        assertThat(fired).containsExactly(1_000L, 2_000L, 3_000L);
        assertThat(self[0].isArmed()).isFalse();
    }

    @Test
    void deadlineBeyondOneTurnFiresAtItsTimeNotOnAnEarlierTurn() {
        Recorder owner = new Recorder();
        TimerWheel.Entry entry = wheel.register(owner);
        long fiveMinutesMs = TimeUnit.MINUTES.toMillis(5);
        wheel.scheduleAfter(entry, TimeUnit.MILLISECONDS.toNanos(fiveMinutesMs));

        // Its bucket comes round at ~95 s and ~198 s: it must not fire on either of those turns.
        advanceTo(fiveMinutesMs - TICK_MS);
        assertThat(owner.firedAtMs).isEmpty();
        assertThat(entry.isArmed()).isTrue();

        advanceTo(fiveMinutesMs);
        assertThat(owner.firedAtMs).containsExactly(fiveMinutesMs);
    }

    @Test
    void entryDueDuringAStallLongerThanOneTurnStillFiresOnce() {
        Recorder owner = new Recorder();
        TimerWheel.Entry entry = wheel.register(owner);
        wheel.scheduleAfter(entry, TimeUnit.SECONDS.toNanos(10));

        ch.advanceTimeBy(5, TimeUnit.MINUTES); // the loop was busy for five minutes: one catch-up
        elapsedMs += TimeUnit.MINUTES.toMillis(5);
        ch.runScheduledPendingTasks();

        assertThat(owner.firedAtMs).hasSize(1);
    }

    @Test
    void ownerUnregisteringAnotherEntryDueInTheSameTickPreventsItsFiring() {
        List<String> fired = new ArrayList<>();
        TimerWheel.Entry[] entries = new TimerWheel.Entry[2];
        entries[0] = wheel.register(now -> {
            fired.add("a");
            wheel.unregister(entries[1]);
        });
        entries[1] = wheel.register(now -> {
            fired.add("b");
            wheel.unregister(entries[0]);
        });
        wheel.scheduleAfter(entries[0], TimeUnit.SECONDS.toNanos(1));
        wheel.scheduleAfter(entries[1], TimeUnit.SECONDS.toNanos(1));

        advanceTo(5_000);

        assertThat(fired).as("whichever fires first unregisters the other").hasSize(1);
        assertThat(wheel.size()).isEqualTo(1);
    }

    @Test
    void ownerDisarmingAnotherEntryDueInTheSameTickPreventsItsFiring() {
        List<String> fired = new ArrayList<>();
        TimerWheel.Entry[] entries = new TimerWheel.Entry[2];
        entries[0] = wheel.register(now -> {
            fired.add("a");
            wheel.disarm(entries[1]);
        });
        entries[1] = wheel.register(now -> {
            fired.add("b");
            wheel.disarm(entries[0]);
        });
        wheel.scheduleAfter(entries[0], TimeUnit.SECONDS.toNanos(1));
        wheel.scheduleAfter(entries[1], TimeUnit.SECONDS.toNanos(1));

        advanceTo(5_000);

        assertThat(fired).hasSize(1);
        assertThat(wheel.size()).isEqualTo(2);
    }

    @Test
    void stoppedWheelFiresNothing() {
        Recorder owner = new Recorder();
        wheel.scheduleAfter(wheel.register(owner), TimeUnit.SECONDS.toNanos(1));

        wheel.stop();
        advanceTo(5_000);

        assertThat(owner.firedAtMs).isEmpty();
    }

    @Test
    void nowIsTheLoopsClock() {
        long before = wheel.now();
        ch.advanceTimeBy(1234, TimeUnit.MILLISECONDS);
        assertThat(wheel.now() - before).isEqualTo(TimeUnit.MILLISECONDS.toNanos(1234));
        assertThat(wheel.loop()).isSameAs(ch.eventLoop());
    }
}
