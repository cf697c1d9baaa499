/**
 * Operating the process: the admin HTTP server ({@link dev.fourtuple.gateway.ops.AdminServer}: metrics, health,
 * status, with its own timeouts and limits), signals ({@link dev.fourtuple.gateway.ops.Signals}: HUP reloads,
 * TERM and INT drain, then exit 0), systemd notify and watchdog, logging, and {@code doctor}.
 */
@NullMarked
package dev.fourtuple.gateway.ops;

import org.jspecify.annotations.NullMarked;
