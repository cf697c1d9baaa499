/**
 * Inbound: the listening sockets and everything a client connection goes through until its request has a
 * backend: HTTP/1.1 decoding, routing, header rewriting, the request/response exchange, and the switch to a
 * tunnel on a WebSocket upgrade.
 *
 * <p>Start at {@link dev.fourtuple.gateway.inbound.Listener} (bind) and
 * {@link dev.fourtuple.gateway.inbound.FrontendInitializer} (the pipeline of a client connection).
 */
@NullMarked
package dev.fourtuple.gateway.inbound;

import org.jspecify.annotations.NullMarked;
