package dev.fourtuple.gateway.inbound;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * What a proxy changes in the heads it forwards: hop-by-hop headers removed (RFC 9110 §7.6.1), the
 * X-Forwarded-* headers added, an absolute-form target turned into origin form (RFC 9112 §3.2.2), and the
 * connection management of each side decided on its own.
 *
 * <p>Message framing (Content-Length / Transfer-Encoding: chunked) is the gateway's own: it is never removed
 * because a Connection header names it, bodies are relayed piece by piece and re-framed the same way by the
 * encoder of the other side.
 */
final class ProxyHeaders {
    private static final CharSequence X_FORWARDED_FOR = "x-forwarded-for";
    private static final CharSequence X_FORWARDED_PROTO = "x-forwarded-proto";
    private static final CharSequence X_FORWARDED_HOST = "x-forwarded-host";
    /**
     * Fields a trailer must not carry: the gateway's list, drawn from the categories RFC 9110 §6.5.1 names
     * (framing, routing, authentication, request modifiers, response control, content description).
     */
    private static final List<CharSequence> FORBIDDEN_TRAILERS = List.of(HttpHeaderNames.HOST,
            HttpHeaderNames.CONTENT_LENGTH, HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderNames.TRAILER,
            HttpHeaderNames.CONNECTION, HttpHeaderNames.KEEP_ALIVE, HttpHeaderNames.PROXY_CONNECTION,
            HttpHeaderNames.TE, HttpHeaderNames.UPGRADE, HttpHeaderNames.AUTHORIZATION,
            HttpHeaderNames.PROXY_AUTHORIZATION, HttpHeaderNames.PROXY_AUTHENTICATE, HttpHeaderNames.WWW_AUTHENTICATE,
            HttpHeaderNames.COOKIE, HttpHeaderNames.SET_COOKIE, HttpHeaderNames.CONTENT_ENCODING,
            HttpHeaderNames.CONTENT_TYPE, HttpHeaderNames.CONTENT_RANGE, HttpHeaderNames.RANGE,
            HttpHeaderNames.CACHE_CONTROL, HttpHeaderNames.EXPECT, HttpHeaderNames.MAX_FORWARDS,
            HttpHeaderNames.PRAGMA, HttpHeaderNames.AGE, HttpHeaderNames.EXPIRES, HttpHeaderNames.DATE,
            HttpHeaderNames.LOCATION, HttpHeaderNames.RETRY_AFTER, HttpHeaderNames.VARY,
            HttpHeaderNames.IF_MATCH, HttpHeaderNames.IF_NONE_MATCH, HttpHeaderNames.IF_MODIFIED_SINCE,
            HttpHeaderNames.IF_UNMODIFIED_SINCE, HttpHeaderNames.IF_RANGE);

    private ProxyHeaders() {
    }

    /**
     * Rewrites a client request that passed {@link RequestRules}, in place, for the backend.
     *
     * @param client    the client's address, appended to X-Forwarded-For
     * @param local     the address the client connected to: the Host of an HTTP/1.0 request that sent none
     * @param upgrade   whether to keep the Upgrade / Connection: upgrade pair
     * @param https     whether the client came over TLS (X-Forwarded-Proto)
     */
    static void prepareRequest(HttpRequest request, @Nullable SocketAddress client, @Nullable SocketAddress local,
            boolean upgrade, boolean https) {
        toOriginForm(request);
        HttpHeaders headers = request.headers();
        if (!headers.contains(HttpHeaderNames.HOST) && local instanceof InetSocketAddress address) {
            // RFC 9112 §3.2: only HTTP/1.0 gets here without Host (RequestRules refused HTTP/1.1). The backend
            // speaks 1.1 and must get one: the authority this client reached.
            headers.set(HttpHeaderNames.HOST, authority(address));
        }
        String upgradeTo = upgrade ? headers.get(HttpHeaderNames.UPGRADE) : null;
        removeHopByHop(headers);
        if (upgradeTo != null) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
            headers.set(HttpHeaderNames.UPGRADE, upgradeTo);
        }
        if (client instanceof InetSocketAddress inet && inet.getAddress() != null) {
            String ip = inet.getAddress().getHostAddress();
            String prior = headers.get(X_FORWARDED_FOR);
            headers.set(X_FORWARDED_FOR, prior == null || prior.isBlank() ? ip : prior + ", " + ip);
        }
        // Set, never appended: a client's own X-Forwarded-Proto is a claim the gateway did not check.
        headers.set(X_FORWARDED_PROTO, https ? "https" : "http");
        String host = headers.get(HttpHeaderNames.HOST);
        if (host != null) {
            headers.set(X_FORWARDED_HOST, host);
        }
        writeOwnFraming(request);
        // We speak HTTP/1.1 to backends whatever the client spoke; keep-alive is their default.
        request.setProtocolVersion(HttpVersion.HTTP_1_1);
    }

    /**
     * The framing headers in the gateway's own words: {@code Transfer-Encoding: chunked} or the decoded length
     * in plain digits, however the peer spelled them ("CHUNKED", "0005"). Both spellings are valid (RFC 9112
     * §6.1 coding names are case-insensitive, RFC 9110 §8.6 a length is 1*DIGIT), but a receiver less careful
     * could read them otherwise; the encoder frames by these values.
     */
    private static void writeOwnFraming(HttpMessage message) {
        HttpHeaders headers = message.headers();
        if (HttpUtil.isTransferEncodingChunked(message)) {
            headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        } else if (headers.contains(HttpHeaderNames.CONTENT_LENGTH)) {
            headers.set(HttpHeaderNames.CONTENT_LENGTH, Long.toString(HttpUtil.getContentLength(message, 0L)));
        }
    }

    /**
     * Removes from trailers the fields RFC 9110 §6.5.1 says a trailer must not carry (framing, routing,
     * authentication, content description, controls) and a receiver might merge into the head: a Host or
     * Authorization in a trailer must not reach a backend that would. Other trailers (checksums, gRPC status)
     * pass.
     */
    static void removeForbiddenTrailers(HttpHeaders trailers) {
        if (trailers.isEmpty()) {
            return;
        }
        for (CharSequence name : FORBIDDEN_TRAILERS) {
            trailers.remove(name);
        }
    }

    /**
     * Rewrites a backend response for the client, in place. The response passed {@link #badFraming}.
     *
     * @param clientVersion the protocol version the client spoke
     * @param keepAlive     whether the client connection may stay open after this response
     * @param bodyless      whether this response has no body by definition (HEAD, 1xx, 204, 304)
     * @return whether the client connection must close after the response: forced when an HTTP/1.0 client
     *         receives a body of unknown length, and when the backend's own framing was doubtful
     */
    static boolean prepareResponse(HttpResponse response, HttpVersion clientVersion, boolean keepAlive,
            boolean bodyless) {
        HttpHeaders headers = response.headers();
        if (namesFraming(headers)) {
            // RFC 9110 §7.6.1: a Connection option naming a framing header is an error of the backend's. Its
            // framing is kept as decoded, but the client connection is closed after it (the close delimits it
            // beyond doubt) and the backend connection is not reused (the caller sees to that).
            keepAlive = false;
        }
        boolean chunked = HttpUtil.isTransferEncodingChunked(response);
        boolean lengthKnown = chunked || headers.contains(HttpHeaderNames.CONTENT_LENGTH);
        removeHopByHop(headers);
        int code = response.status().code();
        if (code < 200 || code == 204) {
            // RFC 9110 §8.6: no Content-Length in a 1xx or 204; a client might otherwise wait for a body
            headers.remove(HttpHeaderNames.CONTENT_LENGTH);
        }
        boolean http10 = clientVersion.equals(HttpVersion.HTTP_1_0);
        if (!bodyless && !lengthKnown) {
            // The backend delimits the body by closing (RFC 9112 §6.3 rule 8). An HTTP/1.1 client gets it
            // chunked and keeps its connection; an HTTP/1.0 client can only be told by a close.
            if (http10) {
                keepAlive = false;
            } else {
                chunked = true;
            }
        }
        if (chunked && http10) {
            // RFC 9112 §6.1: no Transfer-Encoding to a request that did not say HTTP/1.1; the close delimits
            chunked = false;
            keepAlive = false;
        }
        HttpUtil.setTransferEncodingChunked(response, chunked);
        writeOwnFraming(response);
        response.setProtocolVersion(HttpVersion.HTTP_1_1);
        if (!keepAlive) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        } else if (http10) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        return !keepAlive;
    }

    /**
     * Rewrites an interim (1xx) response for an HTTP/1.1 client: its hop-by-hop headers go, and it is sent in
     * the version the gateway speaks (RFC 9110 §6.2: a proxy sends its own version).
     */
    static void prepareInterim(HttpResponse response) {
        removeHopByHop(response.headers());
        response.setProtocolVersion(HttpVersion.HTTP_1_1);
    }

    /**
     * What makes a response's framing something the gateway will not relay (502): a version other than
     * HTTP/1.0 or 1.1, a status outside 100-599 (RFC 9110 §15), or a Transfer-Encoding other than chunked alone (RFC 9112 §6.1: the only coding relayed;
     * §6.3 rule 4 would make the body close-delimited, which the decoder did not do). Null when it is fine.
     */
    static @Nullable String badFraming(HttpResponse response) {
        HttpVersion version = response.protocolVersion();
        if (version != HttpVersion.HTTP_1_1 && version != HttpVersion.HTTP_1_0) {
            return "version " + version.text(); // RFC 9112 §2.3: an HTTP/1.x connection speaks HTTP/1.x
        }
        int code = response.status().code();
        if (code < 100 || code > 599) {
            return "status " + code;
        }
        List<String> codings = response.headers().getAll(HttpHeaderNames.TRANSFER_ENCODING);
        if (!codings.isEmpty() && !chunkedAlone(codings)) {
            return "Transfer-Encoding " + RequestRules.printable(String.join(", ", codings));
        }
        return null;
    }

    /** True when a Connection header names Content-Length, Transfer-Encoding or Host. */
    static boolean namesFraming(HttpHeaders headers) {
        for (String option : connectionOptions(headers)) {
            if (RequestRules.FRAMING.contains(option)) {
                return true;
            }
        }
        return false;
    }

    /** The options of every Connection header (RFC 9110 §7.6.1: a list of field names), in lower case. */
    static List<String> connectionOptions(HttpHeaders headers) {
        List<String> options = new ArrayList<>(2);
        for (String value : headers.getAll(HttpHeaderNames.CONNECTION)) {
            for (String token : value.split(",")) {
                String option = token.trim().toLowerCase(Locale.ROOT);
                if (!option.isEmpty()) {
                    options.add(option);
                }
            }
        }
        return options;
    }

    /** True when the Transfer-Encoding values are {@code chunked} alone: the only transfer coding relayed. */
    static boolean chunkedAlone(List<String> codings) {
        return codings.size() == 1 && codings.get(0).trim().equalsIgnoreCase(HttpHeaderValues.CHUNKED.toString());
    }

    /**
     * Removes the headers meant for one hop only: Connection and every header it names, Keep-Alive,
     * Proxy-Connection, TE, Trailer and Upgrade (RFC 9110 §7.6.1) — except the headers that frame or route the
     * message (Content-Length, Transfer-Encoding, Host), which the gateway owns whatever Connection says.
     */
    static void removeHopByHop(HttpHeaders headers) {
        for (String option : connectionOptions(headers)) {
            if (!RequestRules.FRAMING.contains(option)) {
                headers.remove(option);
            }
        }
        headers.remove(HttpHeaderNames.CONNECTION);
        headers.remove(HttpHeaderNames.KEEP_ALIVE);
        headers.remove(HttpHeaderNames.PROXY_CONNECTION);
        headers.remove(HttpHeaderNames.TE);
        headers.remove(HttpHeaderNames.TRAILER);
        headers.remove(HttpHeaderNames.UPGRADE);
    }

    /**
     * RFC 9112 §3.2.2: an absolute-form target becomes origin form, and its authority replaces Host (the
     * target was checked by {@link RequestRules}: http or https, a valid authority without userinfo).
     */
    private static void toOriginForm(HttpRequest request) {
        String uri = request.uri();
        String authority = RequestRules.absoluteFormAuthority(uri);
        if (authority == null) {
            return;
        }
        String rest = uri.substring(uri.indexOf("://") + 3 + authority.length());
        if (rest.isEmpty() || rest.startsWith("?")) {
            rest = "/" + rest; // RFC 9112 §3.2.1: an empty path is sent as "/"
        }
        request.setUri(rest);
        request.headers().set(HttpHeaderNames.HOST, authority);
    }

    /** "IP:PORT", IPv6 in brackets: an authority (RFC 3986 §3.2.2). */
    private static String authority(InetSocketAddress address) {
        String host = address.getAddress() == null ? address.getHostString() : address.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + address.getPort();
    }

    /** The path of a request target, without query or fragment. */
    static String path(String uri) {
        int end = uri.length();
        int query = uri.indexOf('?');
        if (query >= 0) {
            end = query;
        }
        int fragment = uri.indexOf('#');
        if (fragment >= 0 && fragment < end) {
            end = fragment;
        }
        return uri.substring(0, end);
    }
}
