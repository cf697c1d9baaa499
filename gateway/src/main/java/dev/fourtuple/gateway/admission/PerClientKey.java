package dev.fourtuple.gateway.admission;

import java.net.InetAddress;

/**
 * A client address as one {@code long}, the key of the {@link PerClientTable}.
 *
 * <ul>
 *   <li>IPv6: the address's leading {@code ipv6Prefix} bits (32..64), the rest zero, so a network of that
 *       size counts as one client.</li>
 *   <li>IPv4 {@code a.b.c.d}: {@code 0000:ffff:a.b.c.d} as the top 64 bits of an IPv6 address, in
 *       {@code 0:ffff::/32}. That block lies in {@code ::/8}, which is reserved (RFC 4291 §2.4, IANA's
 *       IPv6 address space registry) and never routed, and no IPv6 key can land in it: a prefix of at least
 *       32 bits keeps the top 32 bits, and an IPv6 source inside {@code 0:ffff::/32} anyway (a spoofed or
 *       misconfigured local one) is counted as {@code ::/64}, key 0. So an IPv4 client and an IPv6 client
 *       never share a key. An IPv4-mapped IPv6 address ({@code ::ffff:a.b.c.d}, a dual-stack socket's view
 *       of an IPv4 client) is the IPv4 client.</li>
 * </ul>
 */
final class PerClientKey {
    /** The top 32 bits of every IPv4 key. */
    static final long IPV4_HIGH = 0x0000_FFFFL;

    private PerClientKey() {
    }

    /** The key of a client address. */
    static long of(InetAddress address, int ipv6Prefix) {
        byte[] bytes = address.getAddress(); // 4 or 16 bytes: the one copy the JDK makes
        if (bytes.length == 4) {
            return ipv4(bytes, 0);
        }
        if (isIpv4Mapped(bytes)) {
            return ipv4(bytes, 12);
        }
        long high = 0;
        for (int i = 0; i < 8; i++) {
            high = (high << 8) | (bytes[i] & 0xFF);
        }
        if (high >>> 32 == IPV4_HIGH) {
            return 0; // 0:ffff::/32 is IPv4's: never routed for IPv6, counted with ::/64
        }
        return high & (-1L << (64 - ipv6Prefix)); // a shift by 0 at /64 keeps every bit
    }

    /** True for a key made from an IPv4 address. */
    static boolean isIpv4(long key) {
        return key >>> 32 == IPV4_HIGH;
    }

    private static long ipv4(byte[] bytes, int offset) {
        long v4 = ((bytes[offset] & 0xFFL) << 24) | ((bytes[offset + 1] & 0xFFL) << 16)
                | ((bytes[offset + 2] & 0xFFL) << 8) | (bytes[offset + 3] & 0xFFL);
        return (IPV4_HIGH << 32) | v4;
    }

    /** {@code ::ffff:a.b.c.d} (RFC 4291 §2.5.5.2). */
    private static boolean isIpv4Mapped(byte[] bytes) {
        for (int i = 0; i < 10; i++) {
            if (bytes[i] != 0) {
                return false;
            }
        }
        return bytes[10] == (byte) 0xFF && bytes[11] == (byte) 0xFF;
    }
}
