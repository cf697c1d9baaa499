package dev.fourtuple.bench.compare;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.fourtuple.bench.ProcessTree;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;

/**
 * A comparison run as Markdown tables (ratios to HAProxy's row; the TLS rows in a table of their own, with the
 * issue's goals read against them), a JSON file with every figure, and a PNG chart of memory per idle tunnel
 * and echo messages per proxy CPU-second (plaintext).
 */
final class Report {
    private static final String REFERENCE = "haproxy";
    private static final String BASELINE = "no proxy";

    private final List<Row> rows;
    private final List<TlsRow> tlsRows;
    private final List<String> tlsFailures;
    private final String setup;
    private final String when = ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm'Z'"));

    Report(List<Row> rows, List<TlsRow> tlsRows, List<String> tlsFailures, String setup) {
        this.rows = List.copyOf(rows);
        this.tlsRows = List.copyOf(tlsRows);
        this.tlsFailures = List.copyOf(tlsFailures);
        this.setup = setup;
    }

    void write(Path markdown, Path json, Path png) throws IOException {
        Files.writeString(markdown, markdown());
        Files.writeString(json, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(data()));
        chart(png);
    }

    String markdown() {
        StringBuilder md = new StringBuilder();
        Optional<Row> reference = row(REFERENCE);
        md.append("Memory, idle WebSocket tunnels:\n\n");
        md.append("| proxy | before tunnels | per tunnel | vs HAProxy | marginal per tunnel | vs HAProxy"
                + " | JVM heap / direct per tunnel | kernel per tunnel | vs HAProxy | connects/s |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|\n");
        for (Row r : proxied()) {
            Row.Idle idle = r.idle();
            md.append("| ").append(r.proxy())
                    .append(" | ").append(mb(idle.pssBeforeBytes()))
                    .append(" | ").append(kb(memoryPerTunnel(r)))
                    .append(" | ").append(ratio(memoryPerTunnel(r), reference.map(Report::memoryPerTunnel)))
                    .append(" | ").append(kb(idle.marginalPerTunnel()))
                    .append(" | ").append(ratio(idle.marginalPerTunnel(), reference.map(x -> x.idle().marginalPerTunnel())))
                    .append(" | ").append(jvm(r))
                    .append(" | ").append(kb(kernelShare(r)))
                    .append(" | ").append(ratio(kernelShare(r), reference.map(this::kernelShare)))
                    .append(" | ").append(idle.connectsPerSecond())
                    .append(" |\n");
        }
        md.append("\nThroughput and latency (no proxy: clients straight to the backend, for scale):\n\n");
        md.append("| proxy | echo msgs/s | echo p50 / p99 / p99.9 | p99 vs HAProxy | CPU-s per 1M msgs (kernel)"
                + " | msgs per CPU-s vs HAProxy | vs nginx | HTTP req/s | HTTP p99 | CPU-s per 1M req (kernel)"
                + " | req per CPU-s vs HAProxy |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        Optional<Row> nginx = row("nginx");
        for (Row r : rows) {
            boolean proxied = !r.proxy().equals(BASELINE);
            md.append("| ").append(r.proxy())
                    .append(" | ").append(Math.round(r.echo().messagesPerSecond()))
                    .append(" | ").append("%.1f / %.1f / %.1f ms".formatted(r.echo().p50Micros() / 1e3,
                            r.echo().p99Micros() / 1e3, r.echo().p999Micros() / 1e3))
                    .append(" | ").append(proxied ? ratio(r.echo().p99Micros(), reference.map(x -> x.echo().p99Micros())) : "-")
                    .append(" | ").append(proxied ? perMillion(r.echo().cpu(), r.echo().messages()) : "-")
                    .append(" | ").append(proxied ? ratio(r.echo().messagesPerCpuSecond(),
                            reference.map(x -> x.echo().messagesPerCpuSecond())) : "-")
                    .append(" | ").append(proxied ? ratio(r.echo().messagesPerCpuSecond(),
                            nginx.map(x -> x.echo().messagesPerCpuSecond())) : "-")
                    .append(" | ").append(Math.round(r.http().requestsPerSecond()))
                    .append(" | ").append("%.2f ms".formatted(r.http().p99Millis()))
                    .append(" | ").append(proxied ? perMillion(r.http().cpu(), r.http().requests()) : "-")
                    .append(" | ").append(proxied ? ratio(r.http().requestsPerCpuSecond(),
                            reference.map(x -> x.http().requestsPerCpuSecond())) : "-")
                    .append(" |\n");
        }
        tls(md);
        md.append("\n").append(when).append(", ").append(Runtime.getRuntime().availableProcessors())
                .append(" cores, Linux ").append(System.getProperty("os.version")).append(". ").append(setup).append(".\n");
        md.append("Memory: the proxy's proportional set size (all its processes), read after a full GC for the JVM (heap"
                + " and direct: the JVM's own meters); per tunnel = growth over all the tunnels / their number; marginal ="
                + " growth over the second half / its number (without one-off first-touch costs). Kernel: growth of the"
                + " machine's TCP buffer pages and slab per tunnel, minus the same with no proxy (so: the proxy's two"
                + " sockets). CPU: the proxy's user + system time over the measured window. Errors: ")
                .append(errors()).append(".\n");
        for (Row r : rows) {
            md.append("- ").append(r.proxy()).append(": ").append(r.version()).append('\n');
        }
        return md.toString();
    }

    /**
     * The TLS table: every cost beside HAProxy's as a ratio of costs (lower is better), then the goals
     * as figures.
     */
    private void tls(StringBuilder md) {
        if (tlsRows.isEmpty() && tlsFailures.isEmpty()) {
            return;
        }
        Optional<TlsRow> reference = tlsRow(REFERENCE);
        md.append("\nTLS 1.3, client to proxy (ECDSA P-256, the backend plaintext); every \"vs HAProxy\" here is a"
                + " ratio of costs, lower is better:\n\n");
        md.append("| proxy | per idle wss tunnel | vs HAProxy | marginal per tunnel | JVM heap / direct per tunnel"
                + " | kernel per tunnel | wss connects/s | full handshakes/s | CPU-s per 1k full (kernel) | vs HAProxy"
                + " | resumed handshakes/s (resumed) | CPU-s per 1k resumed (kernel) | vs HAProxy"
                + " | wss echo msgs/s | wss echo p99 | CPU-s per 1M msgs (kernel) | vs HAProxy"
                + " | https req/s | CPU-s per 1M req (kernel) | vs HAProxy |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (TlsRow r : tlsRows) {
            Row.Idle idle = r.idle();
            md.append("| ").append(r.proxy())
                    .append(" | ").append(kb(idle.perTunnel(idle.pssBytes())))
                    .append(" | ").append(ratio(idle.perTunnel(idle.pssBytes()),
                            reference.map(x -> x.idle().perTunnel(x.idle().pssBytes()))))
                    .append(" | ").append(kb(idle.marginalPerTunnel()))
                    .append(" | ").append(jvm(idle))
                    .append(" | ").append(kb(tlsKernelShare(r)))
                    .append(" | ").append(idle.connectsPerSecond())
                    .append(" | ").append(Math.round(r.full().perSecond()))
                    .append(" | ").append(perThousand(r.full()))
                    .append(" | ").append(ratio(r.full().cpuPerThousand(), reference.map(x -> x.full().cpuPerThousand())))
                    .append(" | ").append(Math.round(r.resumed().perSecond()))
                    .append(" (").append(Math.round(r.resumed().resumedShare() * 100)).append("%)")
                    .append(" | ").append(perThousand(r.resumed()))
                    .append(" | ").append(ratio(r.resumed().cpuPerThousand(),
                            reference.map(x -> x.resumed().cpuPerThousand())))
                    .append(" | ").append(Math.round(r.echo().messagesPerSecond()))
                    .append(" | ").append("%.1f ms".formatted(r.echo().p99Micros() / 1e3))
                    .append(" | ").append(perMillion(r.echo().cpu(), r.echo().messages()))
                    .append(" | ").append(ratio(cpuPerOperation(r.echo().cpu(), r.echo().messages()),
                            reference.map(x -> cpuPerOperation(x.echo().cpu(), x.echo().messages()))))
                    .append(" | ").append(Math.round(r.http().requestsPerSecond()))
                    .append(" | ").append(perMillion(r.http().cpu(), r.http().requests()))
                    .append(" | ").append(ratio(cpuPerOperation(r.http().cpu(), r.http().requests()),
                            reference.map(x -> cpuPerOperation(x.http().cpu(), x.http().requests()))))
                    .append(" |\n");
        }
        md.append("\nHandshakes: each a new connection, the TLS handshake, one GET answered, the client's close_notify;"
                + " full: the client resumes nothing; resumed: it offers a ticket from an earlier connection, the share"
                + " that resumed in brackets. Kernel per tunnel: minus the plaintext no-proxy row's, as above."
                + " TLS errors: ").append(tlsErrors()).append(".\n");
        for (String failure : tlsFailures) {
            md.append("- no TLS row for ").append(failure).append('\n');
        }
        Optional<TlsRow> ours = tlsRow("fourtuple");
        if (ours.isPresent() && reference.isPresent()) {
            TlsRow f = ours.get();
            TlsRow h = reference.get();
            md.append("\nGoals (fourtuple against HAProxy, this run):\n\n");
            goal(md, "memory per idle wss tunnel", f.idle().perTunnel(f.idle().pssBytes()),
                    h.idle().perTunnel(h.idle().pssBytes()), 0.8);
            goal(md, "proxy CPU per full handshake", f.full().cpuPerThousand(), h.full().cpuPerThousand(), 1.0);
            goal(md, "wss echo CPU per message", cpuPerOperation(f.echo().cpu(), f.echo().messages()),
                    cpuPerOperation(h.echo().cpu(), h.echo().messages()), 1.2);
            goal(md, "https CPU per request", cpuPerOperation(f.http().cpu(), f.http().requests()),
                    cpuPerOperation(h.http().cpu(), h.http().requests()), 1.2);
        }
        for (TlsRow r : tlsRows) {
            md.append("- ").append(r.proxy()).append(" with TLS: ").append(r.version()).append('\n');
        }
    }

    private static void goal(StringBuilder md, String what, double ours, double theirs, double atMost) {
        double ratio = theirs > 0 ? ours / theirs : Double.NaN;
        md.append("- ").append(what).append(": %.2f x HAProxy's (goal: at most %.1f x): %s\n".formatted(ratio, atMost,
                Double.isNaN(ratio) ? "no figure" : ratio <= atMost ? "met" : "missed"));
    }

    private static String perThousand(TlsRow.Handshakes h) {
        return "%.2f (%.2f)".formatted(h.cpuPerThousand(), h.systemPerThousand());
    }

    private static double cpuPerOperation(ProcessTree.CpuTime cpu, long operations) {
        return operations == 0 ? 0 : cpu.total() / operations;
    }

    private String tlsErrors() {
        List<String> errors = new ArrayList<>();
        for (TlsRow r : tlsRows) {
            if (r.errors() > 0) {
                errors.add(r.proxy() + " " + r.errors() + " (idle " + r.idle().failed() + ", full " + r.full().errors()
                        + ", resumed " + r.resumed().errors() + ", echo " + r.echo().errors() + ", https "
                        + r.http().errors() + ")");
            }
        }
        return errors.isEmpty() ? "none" : String.join("; ", errors);
    }

    private Optional<TlsRow> tlsRow(String name) {
        return tlsRows.stream().filter(r -> r.proxy().equals(name)).findFirst();
    }

    private double tlsKernelShare(TlsRow r) {
        double baseline = row(BASELINE).map(b -> kernelPerTunnel(b)).orElse(0.0);
        return r.idle().perTunnel(r.idle().kernelTcpBytes() + r.idle().kernelSlabBytes()) - baseline;
    }

    /** CPU-seconds per million operations, with the kernel's part: "24.2 (17.1)". */
    private static String perMillion(ProcessTree.CpuTime cpu, long operations) {
        return "%.1f (%.1f)".formatted(cpu.total() / operations * 1e6, cpu.system() / operations * 1e6);
    }

    private List<Row> proxied() {
        return rows.stream().filter(r -> !r.proxy().equals(BASELINE)).toList();
    }

    private String errors() {
        List<String> errors = new ArrayList<>();
        for (Row r : rows) {
            long n = r.idle().failed() + r.echo().errors() + r.http().errors();
            if (n > 0) {
                errors.add(r.proxy() + " " + n + " (idle " + r.idle().failed() + ", echo " + r.echo().errors()
                        + ", http " + r.http().errors() + ")");
            }
        }
        return errors.isEmpty() ? "none" : String.join("; ", errors);
    }

    private Optional<Row> row(String name) {
        return rows.stream().filter(r -> r.proxy().equals(name)).findFirst();
    }

    private static double memoryPerTunnel(Row r) {
        return r.idle().perTunnel(r.idle().pssBytes());
    }

    private static String jvm(Row r) {
        return jvm(r.idle());
    }

    private static String jvm(Row.Idle idle) {
        if (idle.heapBytes() == null) {
            return "-";
        }
        return kb(idle.perTunnel(idle.heapBytes())) + " / "
                + kb(idle.perTunnel(idle.directBytes() == null ? 0 : idle.directBytes()));
    }

    private static String mb(long bytes) {
        return "%.0f MB".formatted(bytes / 1e6);
    }

    /** The proxy's share of kernel memory per tunnel: its row minus the no-proxy row. */
    private double kernelShare(Row r) {
        double baseline = row(BASELINE).map(b -> kernelPerTunnel(b)).orElse(0.0);
        return kernelPerTunnel(r) - baseline;
    }

    private static double kernelPerTunnel(Row r) {
        return r.idle().perTunnel(r.idle().kernelTcpBytes() + r.idle().kernelSlabBytes());
    }

    private static String kb(double bytes) {
        return "%.1f KB".formatted(bytes / 1000);
    }

    private static String ratio(double value, Optional<Double> reference) {
        return reference.filter(v -> v > 0).map(v -> "%.2f".formatted(value / v)).orElse("-");
    }

    private Map<String, Object> data() {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("when", when);
        data.put("setup", setup);
        data.put("cores", Runtime.getRuntime().availableProcessors());
        data.put("kernel", System.getProperty("os.version"));
        List<Map<String, Object>> list = new ArrayList<>();
        for (Row r : rows) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("proxy", r.proxy());
            row.put("version", r.version());
            row.put("idle", r.idle());
            row.put("memoryPerTunnelBytes", Math.round(memoryPerTunnel(r)));
            row.put("marginalMemoryPerTunnelBytes", Math.round(r.idle().marginalPerTunnel()));
            row.put("kernelSharePerTunnelBytes", Math.round(kernelShare(r)));
            row.put("echo", r.echo());
            row.put("echoMessagesPerSecond", Math.round(r.echo().messagesPerSecond()));
            row.put("echoMessagesPerCpuSecond", Math.round(r.echo().messagesPerCpuSecond()));
            row.put("http", r.http());
            row.put("httpRequestsPerCpuSecond", Math.round(r.http().requestsPerCpuSecond()));
            list.add(row);
        }
        data.put("rows", list);
        List<Map<String, Object>> tls = new ArrayList<>();
        for (TlsRow r : tlsRows) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("proxy", r.proxy());
            row.put("version", r.version());
            row.put("idle", r.idle());
            row.put("memoryPerTunnelBytes", Math.round(r.idle().perTunnel(r.idle().pssBytes())));
            row.put("marginalMemoryPerTunnelBytes", Math.round(r.idle().marginalPerTunnel()));
            row.put("kernelSharePerTunnelBytes", Math.round(tlsKernelShare(r)));
            row.put("fullHandshakes", r.full());
            row.put("fullHandshakesPerSecond", Math.round(r.full().perSecond()));
            row.put("cpuSecondsPerThousandFullHandshakes", r.full().cpuPerThousand());
            row.put("resumedHandshakes", r.resumed());
            row.put("resumedHandshakesPerSecond", Math.round(r.resumed().perSecond()));
            row.put("cpuSecondsPerThousandResumedHandshakes", r.resumed().cpuPerThousand());
            row.put("echo", r.echo());
            row.put("echoMessagesPerSecond", Math.round(r.echo().messagesPerSecond()));
            row.put("cpuSecondsPerMillionEchoMessages", cpuPerOperation(r.echo().cpu(), r.echo().messages()) * 1e6);
            row.put("http", r.http());
            row.put("cpuSecondsPerMillionHttpsRequests", cpuPerOperation(r.http().cpu(), r.http().requests()) * 1e6);
            tls.add(row);
        }
        data.put("tls", tls);
        data.put("tlsFailures", tlsFailures);
        return data;
    }

    private void chart(Path png) throws IOException {
        List<Row> proxied = proxied();
        List<String> names = proxied.stream().map(Row::proxy).toList();
        CategoryChart memory = new CategoryChartBuilder().width(600).height(420)
                .title("Memory per idle WebSocket tunnel (KB, lower is better)").build();
        memory.getStyler().setLegendVisible(true);
        memory.addSeries("proxy process (PSS)", names, proxied.stream().map(r -> memoryPerTunnel(r) / 1000).toList());
        memory.addSeries("kernel (proxy's share)", names, proxied.stream().map(r -> kernelShare(r) / 1000).toList());
        CategoryChart cpu = new CategoryChartBuilder().width(600).height(420)
                .title("Work per proxy CPU-second (thousands, higher is better)").build();
        cpu.addSeries("echo messages", names, proxied.stream().map(r -> r.echo().messagesPerCpuSecond() / 1000).toList());
        cpu.addSeries("HTTP requests", names, proxied.stream().map(r -> r.http().requestsPerCpuSecond() / 1000).toList());
        List<Chart<?, ?>> charts = List.of(memory, cpu);
        BitmapEncoder.saveBitmap(charts, 1, 2, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
