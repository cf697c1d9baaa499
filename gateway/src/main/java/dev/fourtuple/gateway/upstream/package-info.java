/**
 * Upstream: clusters of backends, balancers, and the connections to backends: connect on the caller's
 * event loop, keep-alive pool per (event loop, backend, TLS context), TLS per cluster ({@link
 * dev.fourtuple.gateway.upstream.BackendTls}).
 *
 * <p>Start at {@link dev.fourtuple.gateway.upstream.Cluster} (which backend) and
 * {@link dev.fourtuple.gateway.upstream.UpstreamConnector} (a connection to it, reused or new). A connection is
 * an {@link dev.fourtuple.gateway.upstream.UpstreamConnectionHandler}; its user implements
 * {@link dev.fourtuple.gateway.upstream.UpstreamListener}. Health: {@link dev.fourtuple.gateway.upstream.HealthChecker}
 * runs the active checks (one {@code HealthCheck} per backend address, a {@code HealthProbe} per check) and
 * {@link dev.fourtuple.gateway.upstream.Cluster#pick} skips backends that are down or ejected (outlier ejection
 * in {@code Cluster.failed}); both write the address's {@link dev.fourtuple.gateway.upstream.BackendState}.
 */
@NullMarked
package dev.fourtuple.gateway.upstream;

import org.jspecify.annotations.NullMarked;
