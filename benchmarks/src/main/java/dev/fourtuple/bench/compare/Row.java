package dev.fourtuple.bench.compare;

import dev.fourtuple.bench.ProcessTree;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * One proxy's figures from one comparison run.
 *
 * @param proxy   the row name
 * @param version what ran (version line, JVM options)
 * @param idle    the idle-tunnel figures
 * @param echo         the echo-loop figures
 * @param httpT1C64    wrk -t1 -c64 (the figure of earlier runs)
 * @param httpT2C200   wrk -t2 -c200 (the users' shape)
 * @param coldConnects WebSocket connects right after the proxy started, before the warm-up
 * @param warmConnects the same after the warm-up
 */
record Row(String proxy, String version, Idle idle, Echo echo, Http httpT1C64, Http httpT2C200,
        Connects coldConnects, Connects warmConnects) {

    /**
     * Idle WebSocket tunnels held through the proxy, opened in two halves.
     *
     * @param tunnels            tunnels that opened
     * @param failed             tunnels that did not
     * @param connectsPerSecond  tunnels opened per second (256 handshakes in flight)
     * @param pssBeforeBytes     the proxy's proportional set size before any tunnel (after the warm-up)
     * @param pssBytes           its growth over all the tunnels (after a GC for a JVM)
     * @param secondHalf         tunnels in the second half
     * @param pssSecondHalfBytes its growth over the second half only: the marginal cost, without first-touch
     *                           costs such as heap regions or pool chunks a first connection brings in
     * @param heapBytes          growth of the JVM heap in use after a GC (null: not a JVM)
     * @param directBytes        growth of Netty's direct memory in use (null: not a JVM)
     * @param kernelTcpBytes     growth of the machine's TCP buffer memory (all four sockets of a tunnel)
     * @param kernelSlabBytes    growth of the machine's kernel slab (all sockets of a tunnel, files, epoll)
     */
    record Idle(int tunnels, int failed, long connectsPerSecond, long pssBeforeBytes, long pssBytes, int secondHalf,
            long pssSecondHalfBytes, @Nullable Long heapBytes, @Nullable Long directBytes, long kernelTcpBytes,
            long kernelSlabBytes) {

        double perTunnel(long bytes) {
            return tunnels == 0 ? 0 : (double) bytes / tunnels;
        }

        double marginalPerTunnel() {
            return secondHalf == 0 ? 0 : (double) pssSecondHalfBytes / secondHalf;
        }
    }

    /**
     * The echo loop: one message in flight per connection.
     *
     * @param connections  connections that ran it
     * @param seconds      length of the measured window
     * @param messages     round trips completed in the window
     * @param p50Micros    round-trip latency percentiles
     * @param p99Micros    "
     * @param p999Micros   "
     * @param cpu          proxy CPU (user and system, all its processes and threads) in the window
     * @param errors       wrong echoes and connections lost
     */
    record Echo(int connections, double seconds, long messages, double p50Micros, double p99Micros,
            double p999Micros, ProcessTree.CpuTime cpu, long errors) {

        double messagesPerSecond() {
            return messages / seconds;
        }

        double messagesPerCpuSecond() {
            return cpu.total() == 0 ? 0 : messages / cpu.total();
        }
    }

    /**
     * wrk keep-alive GETs.
     *
     * @param requestsPerSecond wrk's figure
     * @param p99Millis         wrk's 99th percentile
     * @param requests          requests completed
     * @param cpu               proxy CPU in the measured run
     * @param errors            wrk's socket errors and non-2xx/3xx responses
     */
    record Http(double requestsPerSecond, double p99Millis, long requests, ProcessTree.CpuTime cpu, long errors) {

        double requestsPerCpuSecond() {
            return cpu.total() == 0 ? 0 : requests / cpu.total();
        }
    }

    /**
     * WebSocket connects back to back ({@link dev.fourtuple.bench.ConnectLoad}): each a new connection, the
     * upgrade, one echo, the client's close.
     *
     * @param concurrency         connects in flight
     * @param attempted           connects started
     * @param completed           those that did it all
     * @param errors              those that failed
     * @param seconds             wall time of the whole run
     * @param p50Millis           per-connect time (TCP connect to close) percentiles
     * @param p99Millis           "
     * @param cpu                 the proxy's CPU over the run
     * @param timeWaitOnListener  TIME_WAIT sockets on the proxy's listening port after the run (the proxy's
     *                            side of client connections it closed first)
     * @param errorKinds          the first few distinct errors
     */
    record Connects(int concurrency, int attempted, int completed, int errors, double seconds, double p50Millis,
            double p99Millis, ProcessTree.CpuTime cpu, int timeWaitOnListener, List<String> errorKinds) {

        double perSecond() {
            return seconds == 0 ? 0 : completed / seconds;
        }

        /** Proxy CPU-seconds per 1,000 completed connects. */
        double cpuPerThousand() {
            return completed == 0 ? 0 : cpu.total() / completed * 1000;
        }
    }
}
