package dev.fourtuple.gateway.config;

/** A cluster's {@code send-proxy-protocol}: the PROXY protocol header each new upstream connection starts with. */
public enum SendProxyProtocol implements ConfigWord {
    OFF("off"),
    /** The human-readable header (HAProxy's doc/proxy-protocol.txt §2.1). */
    V1("v1"),
    /** The binary header (§2.2). */
    V2("v2");

    private final String word;

    SendProxyProtocol(String word) {
        this.word = word;
    }

    @Override
    public String word() {
        return word;
    }
}
