/**
 * Fourtuple: a reverse proxy that holds very many WebSocket and long-poll connections on one port.
 *
 * <p>Start at {@link dev.fourtuple.gateway.Main} (the command line) and {@link dev.fourtuple.gateway.Gateway}
 * (a running gateway).
 */
@NullMarked
package dev.fourtuple.gateway;

import org.jspecify.annotations.NullMarked;
