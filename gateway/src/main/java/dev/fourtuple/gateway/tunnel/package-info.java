/**
 * Byte relay for upgraded (WebSocket) connections: once both sides have dropped their HTTP codecs, a
 * {@link dev.fourtuple.gateway.tunnel.Tunnel} joins the two channels with one
 * {@link dev.fourtuple.gateway.tunnel.TunnelRelayHandler} each, with backpressure both ways.
 */
@NullMarked
package dev.fourtuple.gateway.tunnel;

import org.jspecify.annotations.NullMarked;
