package dev.fourtuple.gateway.upstream;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * A good answer for one DNS name: its addresses, in a stable order (DNS servers rotate the order of their
 * records; that is no change), and the smallest TTL among the records that made it.
 */
record DnsAnswer(List<Discovered.Address> addresses, long ttlSeconds) {
    private static final Comparator<Discovered.Address> ORDER = Comparator
            .<Discovered.Address>comparingInt(a -> a.address().getAddress().getAddress().length) // IPv4 first
            .thenComparing(a -> a.address().getAddress().getAddress(), Arrays::compareUnsigned)
            .thenComparingInt(a -> a.address().getPort())
            .thenComparingInt(Discovered.Address::weight);

    DnsAnswer {
        List<Discovered.Address> sorted = new ArrayList<>(new LinkedHashSet<>(addresses));
        sorted.sort(ORDER);
        addresses = List.copyOf(sorted);
    }

    /** The addresses as {@code [10.0.0.2:8000, 10.0.0.3:8000]}, with {@code *WEIGHT} where it is not 1. */
    static String describe(List<Discovered.Address> addresses) {
        return addresses.stream().map(DnsAnswer::label).toList().toString();
    }

    /** {@code 10.0.0.2:8000}, {@code [fd00::2]:8000}, with {@code *WEIGHT} when the weight is not 1. */
    static String label(Discovered.Address address) {
        InetSocketAddress socket = address.address();
        String host = socket.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + socket.getPort()
                + (address.weight() == 1 ? "" : "*" + address.weight());
    }
}
