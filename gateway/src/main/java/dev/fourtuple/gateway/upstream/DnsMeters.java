package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.BackendConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.HashMap;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * Meters of DNS discovery: {@code fourtuple.dns.queries{result=ok|error}} (one per lookup of a name, SRV
 * targets included in their name's) and {@code fourtuple.dns.addresses{name}}, the size of each name's last
 * good answer. Gauges come and go with the names the config uses; confined to the resolver's loop.
 */
final class DnsMeters {
    private final MeterRegistry registry;
    private final Counter ok;
    private final Counter error;
    private final Map<BackendConfig.DnsName, Gauge> gauges = new HashMap<>();

    DnsMeters(MeterRegistry registry) {
        this.registry = registry;
        this.ok = Counter.builder("fourtuple.dns.queries").tag("result", "ok")
                .description("Lookups of backend DNS names, by outcome").register(registry);
        this.error = Counter.builder("fourtuple.dns.queries").tag("result", "error")
                .description("Lookups of backend DNS names, by outcome").register(registry);
    }

    void answered() {
        ok.increment();
    }

    void failed() {
        error.increment();
    }

    /** Starts the gauge of {@code name}, read from {@code holder} (held strongly by the caller). */
    <T> void track(BackendConfig.DnsName name, T holder, ToDoubleFunction<T> addresses) {
        gauges.computeIfAbsent(name, n -> Gauge.builder("fourtuple.dns.addresses", holder, addresses)
                .description("Addresses in the last good answer of a backend DNS name")
                .tag("name", n.toString()).register(registry));
    }

    void untrack(BackendConfig.DnsName name) {
        Gauge gauge = gauges.remove(name);
        if (gauge != null) {
            registry.remove(gauge);
        }
    }
}
