package dev.fourtuple.gateway.inbound;

import dev.fourtuple.gateway.connection.ConnectionRegistry;
import dev.fourtuple.gateway.metrics.ProblemLog;
import dev.fourtuple.gateway.timeout.TimerWheel;
import dev.fourtuple.gateway.transport.PerLoop;
import dev.fourtuple.gateway.tunnel.TunnelMeters;
import dev.fourtuple.gateway.upstream.ClusterClient;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * What every client connection of one listener shares, handed to each connection's handler.
 *
 * @param listener which listener the connections came in on
 */
record Frontend(
        ListenerIdentity listener,
        Supplier<FrontendSettings> settings,
        PerLoop<TimerWheel> wheels,
        PerLoop<ConnectionRegistry> connections,
        ClusterClient clusterClient,
        InboundMeters meters,
        TunnelMeters tunnelMeters,
        ProblemLog problems,
        BooleanSupplier draining) {
}
