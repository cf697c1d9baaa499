package dev.fourtuple.gateway.config;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Parses "HOST:PORT" and "[IPv6]:PORT" into resolved socket addresses, IP literals, IPv4 ranges and port
 * ranges.
 */
final class Addresses {
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final Pattern PORTS = Pattern.compile("(\\d{1,5})-(\\d{1,5})");

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

    /** An IP literal (never a name: nothing is looked up), or null. */
    static @Nullable InetAddress ipLiteral(String text) {
        String trimmed = text.trim();
        if (IPV4.matcher(trimmed).matches()) {
            for (String octet : trimmed.split("\\.")) {
                if (Integer.parseInt(octet) > 255) {
                    return null; // "256.0.0.1" is no address; InetAddress would look it up as a name
                }
            }
        } else if (trimmed.indexOf(':') < 0) {
            return null;
        }
        try {
            return InetAddress.getByName(trimmed);
        } catch (UnknownHostException e) {
            return null;
        }
    }

    /**
     * "A.B.C.D" or an IPv4 range "A.B.C.D-A.B.C.E" expanded in order, or null when malformed, reversed or
     * longer than {@code max} addresses.
     */
    static @Nullable List<InetAddress> ipOrRange(String text, int max) {
        String trimmed = text.trim();
        int dash = trimmed.indexOf('-');
        if (dash < 0) {
            InetAddress single = ipLiteral(trimmed);
            return single == null ? null : List.of(single);
        }
        InetAddress first = ipLiteral(trimmed.substring(0, dash));
        InetAddress last = ipLiteral(trimmed.substring(dash + 1));
        if (first == null || last == null || first.getAddress().length != 4 || last.getAddress().length != 4) {
            return null;
        }
        long from = toLong(first.getAddress());
        long to = toLong(last.getAddress());
        if (from > to || to - from + 1 > max) {
            return null;
        }
        List<InetAddress> all = new ArrayList<>();
        for (long ip = from; ip <= to; ip++) {
            byte[] bytes = {(byte) (ip >>> 24), (byte) (ip >>> 16), (byte) (ip >>> 8), (byte) ip};
            try {
                all.add(InetAddress.getByAddress(bytes));
            } catch (UnknownHostException e) {
                return null; // cannot happen for 4 bytes
            }
        }
        return all;
    }

    /** "LOW-HIGH" with 1 <= LOW <= HIGH <= 65535, or null. */
    static @Nullable PortRange portRange(String text) {
        Matcher m = PORTS.matcher(text.trim());
        if (!m.matches()) {
            return null;
        }
        int low = Integer.parseInt(m.group(1));
        int high = Integer.parseInt(m.group(2));
        return low >= 1 && high <= 65535 && low <= high ? new PortRange(low, high) : null;
    }

    private static long toLong(byte[] ip) {
        return ((ip[0] & 0xFFL) << 24) | ((ip[1] & 0xFFL) << 16) | ((ip[2] & 0xFFL) << 8) | (ip[3] & 0xFFL);
    }
}
