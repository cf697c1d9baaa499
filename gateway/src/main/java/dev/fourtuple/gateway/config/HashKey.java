package dev.fourtuple.gateway.config;

import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * What a hash balancer hashes to keep a session on one backend: {@code cookie:NAME}, {@code header:NAME},
 * {@code query:NAME} or {@code client-ip}. A request without the key is balanced as if by round robin.
 *
 * @param source where the key is read
 * @param name   the cookie, header or query parameter name ("" for client-ip); header names in lower case
 */
public record HashKey(Source source, String name) {

    public enum Source { COOKIE, HEADER, QUERY, CLIENT_IP }

    /** The key written as {@code cookie:io}, {@code header:X-Session}, {@code query:sid} or {@code client-ip}. */
    static @Nullable HashKey parse(String text) {
        String trimmed = text.trim();
        if (trimmed.equals("client-ip")) {
            return new HashKey(Source.CLIENT_IP, "");
        }
        int colon = trimmed.indexOf(':');
        if (colon <= 0 || colon == trimmed.length() - 1) {
            return null;
        }
        String name = trimmed.substring(colon + 1);
        // RFC 9110 §5.6.2 token for header and cookie names (RFC 6265 §4.1.1 cookie-name is a token too)
        if (!ConfigTokens.isToken(name)) {
            return null;
        }
        return switch (trimmed.substring(0, colon)) {
            case "cookie" -> new HashKey(Source.COOKIE, name);
            case "header" -> new HashKey(Source.HEADER, name.toLowerCase(Locale.ROOT));
            // RFC 3986 §3.4 / §3.5: '&' separates parameters and '#' starts the fragment; a name holding one
            // (both are tchars) could never be found.
            case "query" -> name.indexOf('&') < 0 && name.indexOf('#') < 0 ? new HashKey(Source.QUERY, name) : null;
            default -> null;
        };
    }

    @Override
    public String toString() {
        return source == Source.CLIENT_IP ? "client-ip" : source.name().toLowerCase(Locale.ROOT) + ":" + name;
    }
}
