/**
 * What this host's kernel says about its limits, read from {@code /proc} (or a fixture root in tests):
 * {@link dev.fourtuple.gateway.host.ProcFiles} reads, {@link dev.fourtuple.gateway.host.EphemeralPorts} the
 * ports for outgoing connections.
 */
@NullMarked
package dev.fourtuple.gateway.host;

import org.jspecify.annotations.NullMarked;
