package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.BackendConfig;
import dev.fourtuple.gateway.config.ClusterConfig;
import dev.fourtuple.gateway.config.GatewayConfig;
import java.util.ArrayList;
import java.util.List;

/** What a new set of DNS answers changes, one line per cluster entry, for the log. */
public final class DnsChanges {
    private DnsChanges() {
    }

    /** E.g. "cluster app: dns:app.internal:8000 now [10.0.0.2:8000, 10.0.0.3:8000] (was [10.0.0.1:8000])". */
    public static List<String> describe(GatewayConfig config, Discovered before, Discovered after) {
        List<String> lines = new ArrayList<>();
        for (ClusterConfig cluster : config.clusters().values()) {
            for (BackendConfig entry : cluster.backends()) {
                BackendConfig.DnsName name = entry.dns();
                if (name == null) {
                    continue;
                }
                List<Discovered.Address> was = before.of(name);
                List<Discovered.Address> now = after.of(name);
                if (!was.equals(now)) {
                    lines.add("cluster " + cluster.name() + ": " + name + " now " + DnsAnswer.describe(now)
                            + " (was " + DnsAnswer.describe(was) + ")");
                }
            }
        }
        return lines;
    }
}
