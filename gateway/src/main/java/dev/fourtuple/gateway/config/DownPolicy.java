package dev.fourtuple.gateway.config;

/** What a cluster's {@code on-down} does to the tunnels of a backend its health check marks down. */
public enum DownPolicy implements ConfigWord {
    /** They stay: a check can fail while established connections are fine (a busy accept queue, say). */
    KEEP("keep"),
    /** They are closed (a WebSocket Close 1001 at a frame boundary, as a drain does), so clients reconnect. */
    CLOSE("close");

    private final String word;

    DownPolicy(String word) {
        this.word = word;
    }

    @Override
    public String word() {
        return word;
    }
}
