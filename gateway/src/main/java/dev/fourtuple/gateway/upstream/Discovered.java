package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.BackendConfig;
import java.net.InetSocketAddress;
import java.util.List;

/** The addresses DNS gave, last time it answered, for the {@code dns:} and {@code srv:} backend entries. */
@FunctionalInterface
public interface Discovered {
    /** Nothing resolved yet: DNS entries have no backends. */
    Discovered NONE = name -> List.of();

    /** The last good answer for {@code name}: each address with its weight (1 for A/AAAA, SRV's own else). */
    List<Address> of(BackendConfig.DnsName name);

    /**
     * One address of a DNS answer.
     *
     * @param weight 1..256, multiplied with the entry's own weight
     */
    record Address(InetSocketAddress address, int weight) {
    }
}
