package dev.fourtuple.gateway.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The fall / rise rule, without sockets. */
class HealthStreakTest {
    private static final int FALL = 3;
    private static final int RISE = 2;

    private final HealthStreak streak = new HealthStreak();
    private boolean up = true; // HAProxy's default: a backend starts up

    private boolean check(boolean passed) {
        up = streak.next(passed, up, FALL, RISE);
        return up;
    }

    @Test
    void fallFailuresInARowMarkAnUpBackendDown() {
        assertThat(check(false)).isTrue();
        assertThat(check(false)).isTrue();
        assertThat(check(false)).isFalse();
        assertThat(streak.failures()).isEqualTo(3);
    }

    @Test
    void aPassInBetweenStartsTheFailureCountAgain() {
        check(false);
        check(false);
        check(true);
        assertThat(check(false)).isTrue();
        assertThat(check(false)).isTrue();
        assertThat(check(false)).isFalse();
    }

    @Test
    void riseRisesInARowMarkADownBackendUpAndAFailureInBetweenRestartsThem() {
        check(false);
        check(false);
        check(false);
        assertThat(up).isFalse();
        assertThat(check(true)).isFalse();
        assertThat(check(false)).isFalse(); // restarts the rise count
        assertThat(check(true)).isFalse();
        assertThat(check(true)).isTrue();
        assertThat(streak.passes()).isEqualTo(2);
    }

    @Test
    void furtherFailuresOfADownBackendAndPassesOfAnUpOneChangeNothing() {
        for (int i = 0; i < 10; i++) {
            assertThat(check(true)).isTrue();
        }
        for (int i = 0; i < 3; i++) {
            check(false);
        }
        for (int i = 0; i < 10; i++) {
            assertThat(check(false)).isFalse();
        }
    }

    @Test
    void fallAndRiseOfOneActAtOnce() {
        assertThat(streak.next(false, true, 1, 1)).isFalse();
        assertThat(streak.next(true, false, 1, 1)).isTrue();
    }
}
