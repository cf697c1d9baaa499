package dev.fourtuple.gateway.upstream;

/**
 * The fall / rise rule of one backend's active check, without sockets: {@code fall} failed checks in a row
 * mark an up backend down, {@code rise} passed checks in a row mark a down backend up (HAProxy's {@code fall}
 * and {@code rise}). A backend starts up, as HAProxy's servers do: a gateway that starts (or reloads) does not
 * wait for {@code rise} checks before it serves.
 *
 * <p>Confined to the event loop its check runs on.
 */
final class HealthStreak {
    private int passes;
    private int failures;

    /**
     * Counts one check's outcome and returns the verdict after it: {@code up} unchanged, unless this check
     * completed a streak of {@code fall} failures (up → down) or {@code rise} passes (down → up).
     */
    boolean next(boolean passed, boolean up, int fall, int rise) {
        if (passed) {
            failures = 0;
            passes++;
            return up || passes >= rise;
        }
        passes = 0;
        failures++;
        return up && failures < fall;
    }

    /** Failed checks in a row (0 after a pass). */
    int failures() {
        return failures;
    }

    /** Passed checks in a row (0 after a failure). */
    int passes() {
        return passes;
    }
}
