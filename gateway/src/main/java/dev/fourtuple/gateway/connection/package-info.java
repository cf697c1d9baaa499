/**
 * Every client connection of a loop, in one registry per loop: what drain, the end of a reload-grace, the stop
 * and a handover to a successor act on, each connection reached through what it says it can do
 * ({@link dev.fourtuple.gateway.connection.ClientConnection}), never by asking what class it is; and
 * {@link dev.fourtuple.gateway.connection.ClientAddress}, the one place that says who a connection's client is
 * (its peer, or what a PROXY protocol header named).
 */
@NullMarked
package dev.fourtuple.gateway.connection;

import org.jspecify.annotations.NullMarked;
