package dev.fourtuple.gateway.config;

/**
 * A listener's {@code proxy-protocol}: which PROXY protocol header (HAProxy's doc/proxy-protocol.txt) its
 * connections must start with. Never guessed: §5 says a receiver must rely on its configuration alone, or
 * any client could claim another's address.
 */
public enum ProxyProtocolMode implements ConfigWord {
    /** No header: the connection's peer is the client. */
    OFF("off"),
    /** The human-readable header only (§2.1). */
    V1("v1"),
    /** The binary header only (§2.2). */
    V2("v2"),
    /** Either format (a v2 receiver MUST accept v2 and may accept v1, §2). */
    ANY("any");

    private final String word;

    ProxyProtocolMode(String word) {
        this.word = word;
    }

    @Override
    public String word() {
        return word;
    }
}
