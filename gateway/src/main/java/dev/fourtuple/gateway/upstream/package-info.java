/**
 * Upstream: clusters of backends, balancers, and the connections to backends: connect on the caller's
 * event loop, keep-alive pool per (event loop, backend, TLS context), TLS per cluster ({@link
 * dev.fourtuple.gateway.upstream.BackendTls}).
 *
 * <p>Start at {@link dev.fourtuple.gateway.upstream.Cluster} (which backend) and
 * {@link dev.fourtuple.gateway.upstream.UpstreamConnector} (a connection to it, reused or new). A connection is
 * an {@link dev.fourtuple.gateway.upstream.UpstreamConnectionHandler}; its user implements
 * {@link dev.fourtuple.gateway.upstream.UpstreamListener}.
 */
@NullMarked
package dev.fourtuple.gateway.upstream;

import org.jspecify.annotations.NullMarked;
