package dev.fourtuple.gateway.config;

/**
 * The {@code drain-close-code} setting: the WebSocket Close status a drain sends each tunnel's client
 * (RFC 6455 §7.4.1 1001 Going Away; 1012 Service Restart from the IANA registry, which tells clients to
 * reconnect), or none: tunnels are then left to end by themselves within drain-timeout.
 */
public enum DrainCloseCode implements ConfigWord {
    GOING_AWAY("going-away", 1001), SERVICE_RESTART("service-restart", 1012), NONE("none", 0);

    private final String word;
    private final int code;

    DrainCloseCode(String word, int code) {
        this.word = word;
        this.code = code;
    }

    @Override
    public String word() {
        return word;
    }

    /** The status code, 0 for none. */
    public int code() {
        return code;
    }
}
