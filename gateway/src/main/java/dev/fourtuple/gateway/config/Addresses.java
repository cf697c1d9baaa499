package dev.fourtuple.gateway.config;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import org.jspecify.annotations.Nullable;

/** Parses "HOST:PORT" and "[IPv6]:PORT" into resolved socket addresses. */
final class Addresses {
    private Addresses() {
    }

    /**
     * The resolved address, or null when the text is not HOST:PORT with a port in [minPort, 65535] or the
     * host does not resolve.
     */
    static @Nullable InetSocketAddress parse(String text, int minPort) {
        String trimmed = text.trim();
        int colon = trimmed.lastIndexOf(':');
        if (colon <= 0 || colon == trimmed.length() - 1) {
            return null;
        }
        String host = trimmed.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            return null; // a bare IPv6 address is ambiguous: "[::1]:80" is the accepted form
        }
        int port;
        try {
            port = Integer.parseInt(trimmed.substring(colon + 1));
        } catch (NumberFormatException e) {
            return null;
        }
        if (port < minPort || port > 65535 || host.isEmpty()) {
            return null;
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(host), port);
        } catch (UnknownHostException | SecurityException e) {
            return null;
        }
    }
}
