package dev.fourtuple.bench.compare;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One pass of the comparison: every proxy started afresh and measured once, plaintext then TLS.
 *
 * @param rows        the plaintext rows, "no proxy" among them
 * @param tlsRows     the TLS rows
 * @param tlsFailures proxies with no TLS row, and why
 */
record Run(List<Row> rows, List<TlsRow> tlsRows, List<String> tlsFailures) {
    static final String BASELINE = "no proxy";

    Run {
        rows = List.copyOf(rows);
        tlsRows = List.copyOf(tlsRows);
        tlsFailures = List.copyOf(tlsFailures);
    }

    Optional<Row> row(String proxy) {
        return rows.stream().filter(r -> r.proxy().equals(proxy)).findFirst();
    }

    Optional<TlsRow> tlsRow(String proxy) {
        return tlsRows.stream().filter(r -> r.proxy().equals(proxy)).findFirst();
    }

    List<Row> proxied() {
        return rows.stream().filter(r -> !r.proxy().equals(BASELINE)).toList();
    }

    static double memoryPerTunnel(Row.Idle idle) {
        return idle.perTunnel(idle.pssBytes());
    }

    /** The proxy's share of kernel memory per tunnel: its idle part minus this run's no-proxy one. */
    double kernelShare(Row.Idle idle) {
        return kernelPerTunnel(idle) - row(BASELINE).map(b -> kernelPerTunnel(b.idle())).orElse(0.0);
    }

    /**
     * The start of one row's JSON, the same for plaintext and TLS rows: who ran, its idle figures, and the
     * memory per tunnel derived from them (a mutable map: each row kind adds its own parts after these).
     */
    Map<String, Object> idleData(String proxy, String version, Row.Idle idle) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("proxy", proxy);
        row.put("version", version);
        row.put("idle", idle);
        row.put("memoryPerTunnelBytes", Math.round(memoryPerTunnel(idle)));
        row.put("marginalMemoryPerTunnelBytes", Math.round(idle.marginalPerTunnel()));
        row.put("kernelSharePerTunnelBytes", Math.round(kernelShare(idle)));
        return row;
    }

    private static double kernelPerTunnel(Row.Idle idle) {
        return idle.perTunnel(idle.kernelTcpBytes() + idle.kernelSlabBytes());
    }
}
