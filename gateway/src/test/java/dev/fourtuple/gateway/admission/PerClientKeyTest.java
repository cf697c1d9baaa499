package dev.fourtuple.gateway.admission;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link PerClientKey}: one {@code long} per client, IPv6 grouped by prefix, IPv4 apart from every IPv6 key. */
class PerClientKeyTest {
    private static InetAddress ip(String literal) {
        try {
            return InetAddress.getByName(literal); // a literal: no lookup
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void anIpv4AddressIsItsOwnKeyInsideTheIpv4Block() {
        assertThat(PerClientKey.of(ip("192.0.2.1"), 64)).isEqualTo(0x0000_FFFF_C000_0201L);
        assertThat(PerClientKey.of(ip("192.0.2.1"), 32)).as("the prefix is IPv6's only").isEqualTo(0x0000_FFFF_C000_0201L);
        assertThat(PerClientKey.of(ip("192.0.2.2"), 64)).isNotEqualTo(PerClientKey.of(ip("192.0.2.1"), 64));
        assertThat(PerClientKey.of(ip("0.0.0.0"), 64)).isEqualTo(0x0000_FFFF_0000_0000L);
        assertThat(PerClientKey.of(ip("255.255.255.255"), 64)).isEqualTo(0x0000_FFFF_FFFF_FFFFL);
    }

    @Test
    void ipv6AddressesOfOneSlash64AreOneClient() {
        long key = PerClientKey.of(ip("2001:db8:1:2::1"), 64);

        assertThat(key).isEqualTo(0x2001_0db8_0001_0002L);
        assertThat(PerClientKey.of(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"), 64)).isEqualTo(key);
        assertThat(PerClientKey.of(ip("2001:db8:1:3::1"), 64)).as("the next /64").isNotEqualTo(key);
    }

    @Test
    void aShorterPrefixGroupsAWholeSite() {
        long site = PerClientKey.of(ip("2001:db8:1:2::1"), 48);

        assertThat(site).isEqualTo(0x2001_0db8_0001_0000L);
        assertThat(PerClientKey.of(ip("2001:db8:1:ffff::9"), 48)).isEqualTo(site);
        assertThat(PerClientKey.of(ip("2001:db8:2::1"), 48)).isNotEqualTo(site);
        assertThat(PerClientKey.of(ip("2001:db8:1:2::1"), 56)).isEqualTo(0x2001_0db8_0001_0000L);
        assertThat(PerClientKey.of(ip("2001:db8:1:1ff::1"), 56)).isEqualTo(0x2001_0db8_0001_0100L);
        assertThat(PerClientKey.of(ip("2001:db8:ffff:ffff::1"), 32)).isEqualTo(0x2001_0db8_0000_0000L);
    }

    @Test
    void anIpv4MappedIpv6AddressIsTheIpv4Client() throws UnknownHostException {
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xFF;
        mapped[11] = (byte) 0xFF;
        mapped[12] = (byte) 192;
        mapped[13] = 0;
        mapped[14] = 2;
        mapped[15] = 1;
        // Inet6Address.getByAddress keeps it IPv6 (InetAddress.getByAddress would have made it IPv4 already).
        InetAddress v6 = Inet6Address.getByAddress(null, mapped, -1);
        assertThat(v6).isInstanceOf(Inet6Address.class);

        assertThat(PerClientKey.of(v6, 64)).isEqualTo(PerClientKey.of(ip("192.0.2.1"), 64));
    }

    @ParameterizedTest
    @ValueSource(ints = {32, 40, 48, 56, 64})
    void ipv6InsideTheIpv4BlockNeverTakesAnIpv4Key(int prefix) {
        // 0:ffff:c000:201::1 would be 192.0.2.1's key if taken as it is.
        long key = PerClientKey.of(ip("0:ffff:c000:201::1"), prefix);

        assertThat(key).isZero();
        assertThat(PerClientKey.isIpv4(key)).isFalse();
        assertThat(PerClientKey.of(ip("::1"), prefix)).as("counted with ::/64").isEqualTo(key);
    }

    @ParameterizedTest
    @ValueSource(ints = {32, 33, 47, 48, 56, 63, 64})
    void ipv4AndIpv6KeysNeverCollide(int prefix) throws UnknownHostException {
        SplittableRandom random = new SplittableRandom(prefix);
        for (int i = 0; i < 20_000; i++) {
            byte[] v4 = new byte[4];
            random.nextBytes(v4);
            assertThat(PerClientKey.isIpv4(PerClientKey.of(InetAddress.getByAddress(v4), prefix))).isTrue();

            byte[] v6 = new byte[16];
            random.nextBytes(v6);
            if (i % 4 == 0) { // a quarter aimed at the IPv4 block, the rest anywhere
                v6[0] = 0;
                v6[1] = 0;
                v6[2] = (byte) 0xFF;
                v6[3] = (byte) 0xFF;
            }
            if (i % 4 == 1) { // and a quarter IPv4-mapped: those are IPv4 clients
                Arrays.fill(v6, 0, 10, (byte) 0);
                v6[10] = (byte) 0xFF;
                v6[11] = (byte) 0xFF;
            }
            InetAddress address = Inet6Address.getByAddress(null, v6, -1);
            assertThat(PerClientKey.isIpv4(PerClientKey.of(address, prefix))).as("%s", address).isEqualTo(i % 4 == 1);
        }
    }
}
