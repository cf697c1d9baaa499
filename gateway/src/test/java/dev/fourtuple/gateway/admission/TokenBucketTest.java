package dev.fourtuple.gateway.admission;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@link TokenBucket} with the clock passed in: a burst of one second's worth, then one token per interval. */
class TokenBucketTest {
    private static final int RATE = 100;
    private static final long PER_TOKEN = TimeUnit.MILLISECONDS.toNanos(10);
    /** An arbitrary origin; System.nanoTime() may be anything, negative included. */
    private static final long T0 = -7_000_000_000L;

    private final TokenBucket bucket = new TokenBucket(RATE, T0);

    private int takeAll(long now) {
        int taken = 0;
        while (bucket.tryTake(now)) {
            taken++;
            if (taken > 10 * RATE) {
                break; // never ending: fail below rather than spin
            }
        }
        return taken;
    }

    @Test
    void startsWithOneSecondsWorthThenRefusesAtTheSameInstant() {
        for (int i = 0; i < RATE; i++) {
            assertThat(bucket.tryTake(T0)).as("token %d of the burst", i + 1).isTrue();
        }

        assertThat(bucket.tryTake(T0)).as("token 101 at the same instant").isFalse();
    }

    @Test
    void oneMoreTokenPerInterval() {
        takeAll(T0);

        assertThat(bucket.tryTake(T0 + PER_TOKEN - 1)).as("just before the interval").isFalse();
        assertThat(bucket.tryTake(T0 + PER_TOKEN)).isTrue();
        assertThat(bucket.tryTake(T0 + PER_TOKEN)).as("exactly one").isFalse();
        assertThat(takeAll(T0 + 5 * PER_TOKEN)).as("four more after four more intervals").isEqualTo(4);
    }

    @Test
    void neverSavesUpMoreThanOneSecondsWorth() {
        takeAll(T0);

        assertThat(takeAll(T0 + TimeUnit.SECONDS.toNanos(10))).isEqualTo(RATE);
    }

    @Test
    void anUntouchedBucketHoldsOneSecondsWorthLater() {
        assertThat(takeAll(T0 + TimeUnit.HOURS.toNanos(1))).isEqualTo(RATE);
    }

    @Test
    void nanosUntilTokenIsZeroWhileTokensRemain() {
        assertThat(bucket.nanosUntilToken(T0)).isZero();

        bucket.tryTake(T0);

        assertThat(bucket.nanosUntilToken(T0)).isZero();
    }

    @Test
    void nanosUntilTokenCountsDownToTheNextToken() {
        takeAll(T0);

        assertThat(bucket.nanosUntilToken(T0)).isEqualTo(PER_TOKEN);
        assertThat(bucket.nanosUntilToken(T0 + TimeUnit.MILLISECONDS.toNanos(4)))
                .isEqualTo(TimeUnit.MILLISECONDS.toNanos(6));
        assertThat(bucket.nanosUntilToken(T0 + PER_TOKEN)).isZero();
        assertThat(bucket.tryTake(T0 + PER_TOKEN)).as("the token it announced").isTrue();
        assertThat(bucket.nanosUntilToken(T0 + PER_TOKEN)).isEqualTo(PER_TOKEN);
    }

    @Test
    void aRateThatDoesNotDivideASecondStillGivesItsBurst() {
        TokenBucket three = new TokenBucket(3, T0);

        assertThat(three.tryTake(T0)).isTrue();
        assertThat(three.tryTake(T0)).isTrue();
        assertThat(three.tryTake(T0)).isTrue();
        assertThat(three.tryTake(T0)).isFalse();
        assertThat(three.tryTake(T0 + TimeUnit.SECONDS.toNanos(1) / 3)).isTrue();
    }
}
