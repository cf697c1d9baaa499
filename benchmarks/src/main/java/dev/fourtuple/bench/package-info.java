/**
 * Load generators and scenario runners. Start at {@link dev.fourtuple.bench.PortsScenario} (four-tuple
 * capacity) and {@link dev.fourtuple.bench.TunnelClients} (many WebSocket tunnels from one process).
 */
@NullMarked
package dev.fourtuple.bench;

import org.jspecify.annotations.NullMarked;
