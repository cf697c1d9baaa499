package dev.fourtuple.bench.compare;

import dev.fourtuple.bench.ProcessTree;

/**
 * One proxy's figures with TLS 1.3 from the client to the proxy (the backend plaintext), from one run.
 *
 * @param proxy   the row name
 * @param version what ran
 * @param idle    idle wss tunnels, measured as the plaintext ones
 * @param full    full handshakes back to back
 * @param resumed resumed handshakes (tickets) back to back
 * @param echo    the wss echo loop
 * @param http    wrk over https
 */
record TlsRow(String proxy, String version, Row.Idle idle, Handshakes full, Handshakes resumed, Row.Echo echo,
        Row.Http http) {

    /**
     * Handshakes in a measured window: each a new connection, the handshake, one GET, the client's close.
     *
     * @param concurrency connections in flight
     * @param seconds     the window's length
     * @param handshakes  connections completed in it
     * @param resumed     those that resumed a session
     * @param cpu         the proxy's CPU in the window
     * @param errors      connections that failed
     */
    record Handshakes(int concurrency, double seconds, long handshakes, long resumed, ProcessTree.CpuTime cpu,
            long errors) {

        double perSecond() {
            return handshakes / seconds;
        }

        /** Proxy CPU-seconds per 1,000 handshakes. */
        double cpuPerThousand() {
            return handshakes == 0 ? 0 : cpu.total() / handshakes * 1000;
        }

        double systemPerThousand() {
            return handshakes == 0 ? 0 : cpu.system() / handshakes * 1000;
        }

        double resumedShare() {
            return handshakes == 0 ? 0 : (double) resumed / handshakes;
        }
    }

    long errors() {
        return idle.failed() + full.errors() + resumed.errors() + echo.errors() + http.errors();
    }
}
