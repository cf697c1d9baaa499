package dev.fourtuple.gateway.admission;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** {@link Hysteresis}: shed from the high-water mark on, accept again only below the low-water mark. */
class HysteresisTest {
    private final Hysteresis state = new Hysteresis(0.9, 0.8);

    @Test
    void startsAccepting() {
        assertThat(state.shedding()).isFalse();
    }

    @Test
    void belowHighKeepsAccepting() {
        assertThat(state.update(0.5)).isFalse();
        assertThat(state.update(0.89)).isFalse();
        assertThat(state.shedding()).isFalse();
    }

    @Test
    void reachingHighSheds() {
        assertThat(state.update(0.9)).as("exactly high").isTrue();
        assertThat(state.shedding()).isTrue();
    }

    @Test
    void aboveHighSheds() {
        assertThat(state.update(1.5)).isTrue();
    }

    @Test
    void staysSheddingBetweenLowAndHigh() {
        state.update(0.95);

        assertThat(state.update(0.85)).isTrue();
        assertThat(state.update(0.81)).isTrue();
        assertThat(state.shedding()).isTrue();
    }

    @Test
    void exactlyLowIsStillShedding() {
        state.update(0.95);

        assertThat(state.update(0.8)).as("reading < low ends shedding; low itself does not").isTrue();
    }

    @Test
    void belowLowAcceptsAgain() {
        state.update(0.95);

        assertThat(state.update(0.79)).isFalse();
        assertThat(state.shedding()).isFalse();
    }

    @Test
    void betweenLowAndHighAfterRecoveryKeepsAccepting() {
        state.update(0.95);
        state.update(0.5);

        assertThat(state.update(0.85)).as("rising again between the marks does not shed").isFalse();
        assertThat(state.update(0.9)).isTrue();
    }
}
