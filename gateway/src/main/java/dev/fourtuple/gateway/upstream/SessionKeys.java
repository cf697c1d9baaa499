package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.HashKey;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import java.net.InetAddress;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** Reads a request's session key (a cookie, a header, a query parameter, the client's IP) without copying more. */
final class SessionKeys {

    private SessionKeys() {
    }

    /** The key's value in this request, or null when the request does not carry it. */
    static @Nullable String find(HashKey key, HttpRequest request, @Nullable InetAddress client) {
        return switch (key.source()) {
            case COOKIE -> cookie(request, key.name());
            case HEADER -> nonEmpty(request.headers().get(key.name()));
            case QUERY -> query(request.uri(), key.name());
            case CLIENT_IP -> client == null ? null : client.getHostAddress();
        };
    }

    /**
     * The value of cookie {@code name} (RFC 6265 §4.2.1: {@code cookie-pair *( ";" SP cookie-pair )}, read
     * leniently as user agents send it, §5.4); the first one when the name repeats. A quoted value keeps its
     * quotes: it only has to be the same each time, not decoded.
     */
    static @Nullable String cookie(HttpRequest request, String name) {
        List<String> headers = request.headers().getAll(HttpHeaderNames.COOKIE);
        for (String header : headers) {
            int at = 0;
            int length = header.length();
            while (at < length) {
                int end = header.indexOf(';', at);
                if (end < 0) {
                    end = length;
                }
                int start = at;
                while (start < end && header.charAt(start) == ' ') {
                    start++;
                }
                int eq = start + name.length(); // where '=' stands if this pair is the cookie (a token has none)
                if (eq < end && header.charAt(eq) == '=' && header.startsWith(name, start)) {
                    return nonEmpty(header.substring(eq + 1, end).trim());
                }
                at = end + 1;
            }
        }
        return null;
    }

    /** The first value of parameter {@code name} in the URI's query (RFC 3986 §3.4), undecoded. */
    static @Nullable String query(String uri, String name) {
        int question = uri.indexOf('?');
        if (question < 0) {
            return null;
        }
        int fragment = uri.indexOf('#', question);
        int length = fragment < 0 ? uri.length() : fragment;
        int at = question + 1;
        while (at < length) {
            int end = uri.indexOf('&', at);
            if (end < 0 || end > length) {
                end = length;
            }
            int eq = at + name.length(); // looked at, not searched for: each pair is read once
            if (eq < end && uri.charAt(eq) == '=' && uri.startsWith(name, at)) {
                return nonEmpty(uri.substring(eq + 1, end));
            }
            at = end + 1;
        }
        return null;
    }

    private static @Nullable String nonEmpty(@Nullable String value) {
        return value == null || value.isEmpty() ? null : value;
    }

    /** FNV-1a over the characters, then mixed: a 64-bit hash of a session key or a name. */
    static long hash(String value) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < value.length(); i++) {
            h ^= value.charAt(i);
            h *= 0x100000001b3L;
        }
        return RendezvousHash.mix(h);
    }
}
