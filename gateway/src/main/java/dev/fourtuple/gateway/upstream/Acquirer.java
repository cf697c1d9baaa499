package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.metrics.Problem;
import io.netty.handler.codec.http.HttpResponseStatus;

/** The user of an {@link Acquisition}: the exchange waiting for an upstream connection for its request. */
public interface Acquirer {

    /** A connection to the acquisition's backend, ready for the request (its TLS handshake done). */
    void onAcquired(UpstreamConnectionHandler connection);

    /**
     * No backend could take the request (each failed connect was reported already): answer the client with
     * {@code status}.
     */
    void onUnavailable(HttpResponseStatus status, Problem problem, String detail);
}
