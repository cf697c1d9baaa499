package dev.fourtuple.gateway.inbound;

import dev.fourtuple.gateway.metrics.Problem;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * What a request head must be before anything of it is forwarded. Netty's decoder already refuses malformed
 * lines, bad field names and values, a Content-Length beside a Transfer-Encoding, conflicting lengths and a
 * Transfer-Encoding whose last coding is not chunked (RFC 9112 §6.1, §6.3); these are the rules it leaves to
 * the application, each checked on the line that cites it. A request that breaks one is answered with the
 * status given and the connection is closed: nothing of it reaches a backend.
 */
final class RequestRules {
    /** Headers that frame or route a message: never removed because a Connection header names them. */
    static final List<String> FRAMING = List.of("content-length", "transfer-encoding", "host");

    private RequestRules() {
    }

    /** Why a request is refused: the status it gets and a line for the log. */
    record Refusal(HttpResponseStatus status, Problem problem, String reason) {
    }

    /** Null when the request may be forwarded, else why not. */
    static @Nullable Refusal check(HttpRequest request) {
        HttpVersion version = request.protocolVersion();
        // RFC 9112 §2.3: HTTP-name is case-sensitive; only 1.0 and 1.1 are spoken here (the decoder hands the
        // two known versions over as these constants, anything else as a new object).
        if (version != HttpVersion.HTTP_1_1 && version != HttpVersion.HTTP_1_0) {
            return version.majorVersion() == 1 && version.text().length() == 8 && version.minorVersion() <= 1
                    ? bad("protocol name not in upper case: " + version.text())
                    // RFC 9110 §15.6.6: 505 for a major version the server does not support
                    : new Refusal(HttpResponseStatus.HTTP_VERSION_NOT_SUPPORTED, Problem.UNSUPPORTED,
                            "HTTP version " + version.text());
        }
        HttpMethod method = request.method();
        if (method.equals(HttpMethod.CONNECT)) {
            // RFC 9110 §9.3.6: CONNECT asks for a tunnel to any host; a reverse proxy does not offer that
            // (RFC 9110 §15.6.2: 501, the method is not supported for any resource here).
            return new Refusal(HttpResponseStatus.NOT_IMPLEMENTED, Problem.UNSUPPORTED, "CONNECT " + request.uri());
        }
        Refusal target = checkTarget(method, request.uri());
        if (target != null) {
            return target;
        }
        HttpHeaders headers = request.headers();
        if (headers.contains(HttpHeaderNames.SEC_WEBSOCKET_KEY1) || headers.contains(HttpHeaderNames.SEC_WEBSOCKET_KEY2)) {
            // The draft-hixie-76 handshake, obsoleted by RFC 6455: Netty's decoder gives such a GET an 8-byte
            // body that RFC 9112 §6.3 rule 7 says it does not have (no Content-Length, no Transfer-Encoding).
            // Forwarded, those 8 bytes would prefix the next request on the backend connection.
            return bad("draft-hixie-76 WebSocket keys");
        }
        List<String> hosts = headers.getAll(HttpHeaderNames.HOST);
        if (hosts.size() > 1) {
            return bad("more than one Host"); // RFC 9112 §3.2: more than one Host field line: 400
        }
        if (hosts.isEmpty() && version == HttpVersion.HTTP_1_1) {
            return bad("HTTP/1.1 request without Host"); // RFC 9112 §3.2: an HTTP/1.1 request lacking Host: 400
        }
        if (!hosts.isEmpty() && !validAuthority(hosts.get(0))) {
            // RFC 9112 §3.2: a Host with an invalid field value: 400 (RFC 9110 §7.2: uri-host [ ":" port ])
            return bad("invalid Host: " + printable(hosts.get(0)));
        }
        for (String option : ProxyHeaders.connectionOptions(headers)) {
            if (FRAMING.contains(option)) {
                // RFC 9110 §7.6.1: a sender MUST NOT send a connection option for a field meant for all
                // recipients. Honouring it would strip the framing the backend needs: refused, not ignored,
                // because a client that sends it is either broken or probing for a desync.
                return bad("Connection names " + option);
            }
        }
        List<String> codings = headers.getAll(HttpHeaderNames.TRANSFER_ENCODING);
        if (!codings.isEmpty() && !ProxyHeaders.chunkedAlone(codings)) {
            // RFC 9112 §6.1: a transfer coding the server does not understand: 501. Only chunked is relayed
            // (the decoder has already refused a last coding other than chunked).
            return new Refusal(HttpResponseStatus.NOT_IMPLEMENTED, Problem.UNSUPPORTED,
                    "Transfer-Encoding " + printable(String.join(", ", codings)));
        }
        if (WebSocketHandshake.isUpgrade(request)) {
            if (!codings.isEmpty() || headers.contains(HttpHeaderNames.CONTENT_LENGTH)
                    && !"0".equals(headers.get(HttpHeaderNames.CONTENT_LENGTH))) {
                // RFC 6455 §4.1: the opening handshake is a GET; a body would sit between it and the frames
                return bad("WebSocket upgrade with a body");
            }
            if (!WebSocketHandshake.validKey(headers.get(HttpHeaderNames.SEC_WEBSOCKET_KEY))) {
                // RFC 6455 §4.2.1 item 5: Sec-WebSocket-Key must decode to 16 bytes, else 400
                return bad("WebSocket upgrade without a valid Sec-WebSocket-Key");
            }
        }
        return null;
    }

    /** RFC 9112 §3.2: origin-form, absolute-form, or asterisk-form for OPTIONS; every byte visible ASCII. */
    private static @Nullable Refusal checkTarget(HttpMethod method, String target) {
        for (int i = 0; i < target.length(); i++) {
            char c = target.charAt(i);
            // RFC 3986 §2: a URI is visible US-ASCII; no control, space or octet above 0x7E (RFC 9112 §3.2)
            if (c <= 0x20 || c >= 0x7F) {
                return bad("request target with byte 0x" + Integer.toHexString(c));
            }
            if (c == '#') {
                return bad("request target with a fragment"); // RFC 9112 §3.2: no fragment in any form
            }
        }
        if (target.startsWith("/")) {
            return null; // RFC 9112 §3.2.1 origin-form
        }
        if (target.equals("*")) {
            // RFC 9112 §3.2.4: asterisk-form only for a server-wide OPTIONS
            return method.equals(HttpMethod.OPTIONS) ? null : bad("asterisk-form target for " + method);
        }
        String authority = absoluteFormAuthority(target);
        if (authority == null) {
            // RFC 9112 §3.2.3: authority-form is only for CONNECT (refused above); anything else is not a target
            return bad("not an origin-form or http(s) absolute-form target: " + printable(target));
        }
        if (authority.indexOf('@') >= 0) {
            // RFC 9110 §4.2.4: userinfo in an http(s) URI is deprecated and a recipient should treat it as an
            // error: it is how "http://trusted@evil/" tricks are made
            return bad("userinfo in the request target");
        }
        if (!validAuthority(authority)) {
            return bad("invalid authority in the request target: " + printable(authority));
        }
        return null;
    }

    /** The authority of an "http://" or "https://" target (case-insensitive scheme), or null for another form. */
    static @Nullable String absoluteFormAuthority(String target) {
        int schemeEnd = target.indexOf("://");
        if (schemeEnd <= 0) {
            return null;
        }
        String scheme = target.substring(0, schemeEnd).toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) { // RFC 9110 §4.2.1, §4.2.2
            return null;
        }
        int start = schemeEnd + 3;
        int end = start;
        while (end < target.length() && target.charAt(end) != '/' && target.charAt(end) != '?') {
            end++;
        }
        return target.substring(start, end);
    }

    /**
     * RFC 9110 §7.2 / RFC 3986 §3.2.2-§3.2.3: {@code host [":" port]}, the host a bracketed IPv6 literal or a
     * name of letters, digits, '-', '.', '_', '~' and %-escapes. Stricter than RFC 3986's reg-name on purpose:
     * its sub-delims (",", ";", "=", "&" ...) name no real host and only give a backend something to split on.
     */
    static boolean validAuthority(String authority) {
        if (authority.isEmpty()) {
            return false;
        }
        String rest;
        if (authority.charAt(0) == '[') {
            int close = authority.indexOf(']');
            if (close < 3) {
                return false;
            }
            for (int i = 1; i < close; i++) {
                char c = authority.charAt(i);
                if (!(isHex(c) || c == ':' || c == '.')) {
                    return false; // RFC 3986 §3.2.2 IPv6address (no IPvFuture, no zone)
                }
            }
            rest = authority.substring(close + 1);
        } else {
            int colon = authority.indexOf(':');
            String host = colon < 0 ? authority : authority.substring(0, colon);
            if (host.isEmpty()) {
                return false;
            }
            for (int i = 0; i < host.length(); i++) {
                char c = host.charAt(i);
                if (c == '%') {
                    if (i + 2 >= host.length() || !isHex(host.charAt(i + 1)) || !isHex(host.charAt(i + 2))) {
                        return false; // RFC 3986 §2.1 pct-encoded
                    }
                    i += 2;
                } else if (!(Character.isLetterOrDigit(c) && c < 0x80 || c == '-' || c == '.' || c == '_'
                        || c == '~')) {
                    return false;
                }
            }
            rest = colon < 0 ? "" : authority.substring(colon);
        }
        if (rest.isEmpty()) {
            return true;
        }
        // RFC 3986 §3.2.3 port = *DIGIT; an empty port or more than 5 digits is refused here
        if (rest.charAt(0) != ':' || rest.length() < 2 || rest.length() > 6) {
            return false;
        }
        for (int i = 1; i < rest.length(); i++) {
            if (rest.charAt(i) < '0' || rest.charAt(i) > '9') {
                return false;
            }
        }
        return Integer.parseInt(rest.substring(1)) <= 65535;
    }

    private static boolean isHex(char c) {
        return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F';
    }

    private static Refusal bad(String reason) {
        return new Refusal(HttpResponseStatus.BAD_REQUEST, Problem.BAD_REQUEST, reason);
    }

    /** A value for a log line: control and non-ASCII characters as \xNN, at most 100 characters. */
    static String printable(String value) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < value.length() && out.length() < 100; i++) {
            char c = value.charAt(i);
            if (c < 0x20 || c >= 0x7F) {
                out.append(String.format(Locale.ROOT, "\\x%02x", (int) c & 0xFF));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
