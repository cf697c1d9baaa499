package dev.fourtuple.gateway.config;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * An address block, {@code 10.0.0.0/8} or {@code fd00::/8}; a bare address is a block of one. An IPv4 block
 * also holds the IPv4-mapped IPv6 form of its addresses ({@code ::ffff:a.b.c.d}, RFC 4291 §2.5.5.2), which
 * is how a dual-stack listening socket sees an IPv4 peer.
 *
 * @param network the block's address, host bits zero
 * @param prefix  its prefix length: 0..32 (IPv4) or 0..128 (IPv6)
 */
public record Cidr(InetAddress network, int prefix) {
    /** Parses {@code "IP/prefix"} or {@code "IP"} (a literal only: no name is ever looked up); null when invalid. */
    public static @Nullable Cidr parse(String text) {
        String trimmed = text.trim();
        int slash = trimmed.indexOf('/');
        String ip = slash < 0 ? trimmed : trimmed.substring(0, slash);
        if (ip.startsWith("[") && ip.endsWith("]")) {
            ip = ip.substring(1, ip.length() - 1);
        }
        InetAddress literal = Addresses.ipLiteral(ip);
        if (literal == null) {
            return null;
        }
        byte[] bytes = literal.getAddress();
        int bits = bytes.length * 8;
        int prefix = bits;
        if (slash >= 0) {
            String digits = trimmed.substring(slash + 1);
            if (digits.isEmpty() || digits.length() > 3 || !digits.chars().allMatch(Character::isDigit)) {
                return null;
            }
            prefix = Integer.parseInt(digits);
            if (prefix > bits) {
                return null;
            }
        }
        try {
            return new Cidr(InetAddress.getByAddress(mask(bytes, prefix)), prefix);
        } catch (java.net.UnknownHostException e) {
            return null; // cannot happen for 4 or 16 bytes
        }
    }

    /** Whether {@code address} lies in this block. */
    public boolean contains(InetAddress address) {
        byte[] bytes = unmapped(address.getAddress());
        byte[] own = network.getAddress();
        return bytes.length == own.length && Arrays.equals(mask(bytes, prefix), own);
    }

    private static byte[] unmapped(byte[] bytes) {
        if (bytes.length != 16) {
            return bytes;
        }
        for (int i = 0; i < 10; i++) {
            if (bytes[i] != 0) {
                return bytes;
            }
        }
        return bytes[10] == (byte) 0xFF && bytes[11] == (byte) 0xFF ? Arrays.copyOfRange(bytes, 12, 16) : bytes;
    }

    private static byte[] mask(byte[] bytes, int prefix) {
        byte[] masked = bytes.clone();
        for (int i = 0; i < masked.length; i++) {
            int keep = Math.max(0, Math.min(8, prefix - 8 * i));
            masked[i] &= (byte) (0xFF << (8 - keep));
        }
        return masked;
    }

    @Override
    public String toString() {
        return (network instanceof Inet4Address ? network.getHostAddress() : "[" + network.getHostAddress() + "]")
                + "/" + prefix;
    }
}
