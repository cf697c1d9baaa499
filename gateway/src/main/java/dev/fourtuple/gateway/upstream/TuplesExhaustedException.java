package dev.fourtuple.gateway.upstream;

import java.util.List;

/**
 * No four-tuple towards a backend has a free port: every source IP's ports towards it are in use (or the
 * kernel said so with EADDRNOTAVAIL). Not a failure of the backend; the client gets 503 if no other backend
 * can take the request.
 */
public final class TuplesExhaustedException extends Exception {
    private static final long serialVersionUID = 1L;

    TuplesExhaustedException(Backend backend, List<UpstreamTuple> full) {
        super("no free source port towards " + backend + ": full " + full, null, false, false);
    }
}
