package dev.fourtuple.gateway.metrics;

/**
 * Every expected failure the gateway meets, each a tag value of {@code fourtuple.problems{cause}} and a
 * rate-limited log line. Expected failures are never logged with a stack trace.
 */
public enum Problem {
    BAD_REQUEST("malformed request", false),
    UNSUPPORTED("request the gateway does not forward (CONNECT, an HTTP version or transfer coding it does not speak)", false),
    URI_TOO_LONG("request line too long", false),
    HEADERS_TOO_LARGE("request headers too large", false),
    BODY_TOO_LARGE("request body over max-request-body-size", false),
    NO_ROUTE("no route matches", false),
    HEADER_TIMEOUT("request head not received within header-timeout", false),
    CLIENT_CLOSED("client closed or reset the connection mid-exchange", false),
    BACKEND_REFUSED("backend refused or unreachable", true),
    BACKEND_TLS("backend TLS handshake failed (certificate not trusted, wrong name, no common protocol)", true),
    PORTS_EXHAUSTED("no free source port towards any backend of the cluster (every four-tuple is in use)", true),
    CONNECT_TIMEOUT("backend connect timed out", true),
    RESPONSE_TIMEOUT("backend response head not received within request-timeout", true),
    BACKEND_CLOSED("backend closed or reset the connection mid-exchange", true),
    BAD_RESPONSE("backend sent a malformed response", true),
    STALLED("no bytes moved within the inactivity timeout", false),
    BODY_TIMEOUT("request body slower than body-timeout and body-min-rate allow", false),
    CANCELLED("exchange cut by the gateway", false),
    // PROXY protocol listeners (HAProxy's doc/proxy-protocol.txt): the peer is a balancer, so an operator looks.
    PROXY_UNTRUSTED("PROXY protocol listener: connection from a peer outside proxy-protocol-from, closed", true),
    PROXY_BAD_HEADER("PROXY protocol listener: no valid PROXY header of the configured version, closed", true),
    PROXY_TIMEOUT("PROXY protocol listener: header not received within proxy-protocol-timeout, closed", false),
    INTERNAL("unexpected internal error", true);

    private final String description;
    private final boolean serverSide;

    Problem(String description, boolean serverSide) {
        this.description = description;
        this.serverSide = serverSide;
    }

    public String description() {
        return description;
    }

    /** Server-side problems are WARN (an operator should look); client-side ones are INFO. */
    public boolean serverSide() {
        return serverSide;
    }

    /** The tag value. */
    public String tag() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
