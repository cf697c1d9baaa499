package dev.fourtuple.gateway.config;

/** The {@code balancer} setting of a cluster. */
public enum BalancerKind implements ConfigWord {
    ROUND_ROBIN("round-robin"), LEAST_CONNECTIONS("least-connections"),
    /** Consistent hashing of a request key (a session id): the same key reaches the same backend. */
    HASH("hash");

    private final String word;

    BalancerKind(String word) {
        this.word = word;
    }

    @Override
    public String word() {
        return word;
    }
}
