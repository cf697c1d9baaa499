/**
 * TLS termination: the engine (BoringSSL through netty-tcnative, else the JDK's), certificates checked and
 * chosen by SNI, session-ticket keys that rotate and survive reloads, and the per-loop gate that bounds
 * handshakes in flight.
 *
 * <p>Start at {@link dev.fourtuple.gateway.tls.ServerTls} (one per TLS listener: its handler for a new
 * connection, and its reload).
 */
@NullMarked
package dev.fourtuple.gateway.tls;

import org.jspecify.annotations.NullMarked;
