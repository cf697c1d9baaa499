package dev.fourtuple.gateway.inbound;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
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
 * <p>Message framing (Content-Length / Transfer-Encoding: chunked) is kept as received: bodies are relayed
 * piece by piece and re-framed the same way by the encoder of the other side.
 */
final class ProxyHeaders {
    private static final CharSequence X_FORWARDED_FOR = "x-forwarded-for";
    private static final CharSequence X_FORWARDED_PROTO = "x-forwarded-proto";
    private static final CharSequence X_FORWARDED_HOST = "x-forwarded-host";

    private ProxyHeaders() {
    }

    /** True for a WebSocket upgrade request (RFC 6455 §4.1; the only upgrade we tunnel). */
    static boolean isWebSocketUpgrade(HttpRequest request) {
        HttpHeaders headers = request.headers();
        return request.method().equals(HttpMethod.GET)
                && headers.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)
                && headers.contains(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true);
    }

    /**
     * Rewrites a client request for the backend, in place.
     *
     * @param client    the client's address, appended to X-Forwarded-For
     * @param upgrade   whether to keep the Upgrade / Connection: upgrade pair
     */
    static void prepareRequest(HttpRequest request, @Nullable SocketAddress client, boolean upgrade) {
        toOriginForm(request);
        HttpHeaders headers = request.headers();
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
        headers.set(X_FORWARDED_PROTO, "http");
        String host = headers.get(HttpHeaderNames.HOST);
        if (host != null) {
            headers.set(X_FORWARDED_HOST, host);
        }
        // We speak HTTP/1.1 to backends whatever the client spoke; keep-alive is their default.
        request.setProtocolVersion(HttpVersion.HTTP_1_1);
    }

    /**
     * Rewrites a backend response for the client, in place.
     *
     * @param clientVersion the protocol version the client spoke
     * @param keepAlive     whether the client connection stays open after this response
     * @param bodyless      whether this response has no body by definition (HEAD, 1xx, 204, 304)
     * @return whether the client connection must close after the response, which may be forced when an
     *         HTTP/1.0 client receives a body of unknown length
     */
    static boolean prepareResponse(HttpResponse response, HttpVersion clientVersion, boolean keepAlive,
            boolean bodyless) {
        HttpHeaders headers = response.headers();
        boolean chunked = HttpUtil.isTransferEncodingChunked(response);
        boolean lengthKnown = chunked || headers.contains(HttpHeaderNames.CONTENT_LENGTH);
        removeHopByHop(headers);
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
            chunked = false; // HTTP/1.0 has no chunked coding: relay the bytes and close to delimit
            keepAlive = false;
        }
        HttpUtil.setTransferEncodingChunked(response, chunked);
        response.setProtocolVersion(HttpVersion.HTTP_1_1);
        if (!keepAlive) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        } else if (http10) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        return !keepAlive;
    }

    /**
     * Removes the headers meant for one hop only: Connection and every header it names, Keep-Alive,
     * Proxy-Connection, TE, Trailer and Upgrade (RFC 9110 §7.6.1). Transfer-Encoding is framing, kept.
     */
    static void removeHopByHop(HttpHeaders headers) {
        List<String> named = new ArrayList<>();
        for (String value : headers.getAll(HttpHeaderNames.CONNECTION)) {
            for (String token : value.split(",")) {
                String name = token.trim().toLowerCase(Locale.ROOT);
                if (!name.isEmpty() && !name.equals("transfer-encoding")) {
                    named.add(name);
                }
            }
        }
        for (String name : named) {
            headers.remove(name);
        }
        headers.remove(HttpHeaderNames.CONNECTION);
        headers.remove(HttpHeaderNames.KEEP_ALIVE);
        headers.remove(HttpHeaderNames.PROXY_CONNECTION);
        headers.remove(HttpHeaderNames.TE);
        headers.remove(HttpHeaderNames.TRAILER);
        headers.remove(HttpHeaderNames.UPGRADE);
    }

    private static void toOriginForm(HttpRequest request) {
        String uri = request.uri();
        int schemeEnd = uri.indexOf("://");
        if (schemeEnd <= 0 || uri.startsWith("/")) {
            return;
        }
        String scheme = uri.substring(0, schemeEnd).toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            return;
        }
        int authorityStart = schemeEnd + 3;
        int pathStart = uri.indexOf('/', authorityStart);
        int queryStart = uri.indexOf('?', authorityStart);
        int end = pathStart < 0 ? (queryStart < 0 ? uri.length() : queryStart)
                : (queryStart < 0 ? pathStart : Math.min(pathStart, queryStart));
        String authority = uri.substring(authorityStart, end);
        String rest = uri.substring(end);
        if (rest.isEmpty() || rest.startsWith("?")) {
            rest = "/" + rest;
        }
        request.setUri(rest);
        if (!authority.isEmpty()) {
            request.headers().set(HttpHeaderNames.HOST, authority); // the target's authority wins over Host
        }
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
