package dev.fourtuple.gateway.admission;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.EnumMap;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * Meters of admission: {@code fourtuple.admission.state} (0 accepting, 1 shedding),
 * {@code fourtuple.admission.headroom{resource}} (the free fraction of each limit, 0..1),
 * {@code fourtuple.admission.refused{reason}}, {@code fourtuple.admission.resets} (connections reset unread
 * under the fd hard floor), {@code fourtuple.admission.accept.errors} (accept() failures such as EMFILE), and
 * of the per-client table {@code fourtuple.admission.client.table.size} (clients remembered),
 * {@code .live} (those with a connection open) and {@code .capacity} ({@code per-client.table-size}).
 */
final class AdmissionMeters {
    private final Map<Resource, Counter> refused = new EnumMap<>(Resource.class);
    private final Counter resets;
    private final Counter acceptErrors;

    AdmissionMeters(MeterRegistry registry, AdmissionController controller) {
        Gauge.builder("fourtuple.admission.state", controller, c -> c.shedding() ? 1 : 0)
                .description("0 accepting new connections, 1 shedding them").register(registry);
        for (Resource resource : Resource.values()) {
            refused.put(resource, Counter.builder("fourtuple.admission.refused")
                    .description("New connections refused, by the limit that refused them")
                    .tag("reason", resource.tag()).register(registry));
            if (resource.hasHeadroom()) {
                ToDoubleFunction<AdmissionController> headroom = c -> c.headroom(resource);
                Gauge.builder("fourtuple.admission.headroom", controller, headroom)
                        .description("Free fraction of the limit, 0..1 (1 when the limit does not apply)")
                        .tag("resource", resource.tag()).register(registry);
            }
        }
        resets = Counter.builder("fourtuple.admission.resets")
                .description("Connections reset unread below the fd hard floor").register(registry);
        acceptErrors = Counter.builder("fourtuple.admission.accept.errors")
                .description("accept() failures (EMFILE and the like); accepting pauses after each").register(registry);
        PerClientLimits clients = controller.perClient();
        Gauge.builder("fourtuple.admission.client.table.size", clients, PerClientLimits::size)
                .description("Clients the per-client table remembers").register(registry);
        Gauge.builder("fourtuple.admission.client.table.live", clients, PerClientLimits::live)
                .description("Clients of the per-client table with a connection open (never evicted)")
                .register(registry);
        Gauge.builder("fourtuple.admission.client.table.capacity", clients, PerClientLimits::capacity)
                .description("Clients the per-client table can hold (admission.per-client.table-size)")
                .register(registry);
    }

    void refused(Resource reason) {
        refused.get(reason).increment();
    }

    void reset() {
        resets.increment();
    }

    void acceptError() {
        acceptErrors.increment();
    }

    long refusedCount(Resource reason) {
        return (long) refused.get(reason).count();
    }

    /** Refused and reset for the gateway's own limits (not per-client ones: those are not shedding). */
    long refusedTotal() {
        long total = 0;
        for (Map.Entry<Resource, Counter> entry : refused.entrySet()) {
            if (!entry.getKey().perClient()) {
                total += (long) entry.getValue().count();
            }
        }
        return total + (long) resets.count();
    }
}
