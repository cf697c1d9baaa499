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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import java.util.function.ToLongFunction;

/**
 * A comparison as Markdown tables, a JSON file with every run's figures, and a PNG chart ({@link ReportChart}).
 * The first table reads the goals off directly (Fourtuple, HAProxy, nginx, and Fourtuple's figure over
 * theirs); then memory, echo, HTTP, connects and TLS in detail. With several runs every cell is the range
 * "min–max" over the runs, a ratio's range taken from each run's own ratio (proxies measured minutes apart in one
 * run share that run's machine noise).
 */
final class Report {
    private static final String REFERENCE = "haproxy";
    private static final String OURS = "fourtuple";
    private static final String NGINX = "nginx";

    private final List<Run> runs;
    private final String setup;
    private final String when = ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm'Z'"));

    /** A figure of one run: empty when that run has no such proxy (or no TLS row for it). */
    interface Figure extends Function<Run, Optional<Double>> {
    }

    Report(List<Run> runs, String setup) {
        if (runs.isEmpty()) {
            throw new IllegalArgumentException("a report needs at least one run");
        }
        this.runs = List.copyOf(runs);
        this.setup = setup;
    }

    void write(Path markdown, Path json, Path png) throws IOException {
        Files.writeString(markdown, markdown());
        Files.writeString(json, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(data()));
        new ReportChart(runs).write(png);
    }

    String markdown() {
        StringBuilder md = new StringBuilder();
        if (runs.size() > 1) {
            md.append(runs.size()).append(" runs, each proxy started afresh in each; every cell is min–max over the"
                    + " runs, a ratio's from each run's own ratio.\n\n");
        }
        goals(md);
        memory(md);
        echo(md);
        http(md);
        connects(md);
        new TlsTables(this).append(md);
        md.append("\n").append(when).append(", ").append(Runtime.getRuntime().availableProcessors())
                .append(" cores, Linux ").append(System.getProperty("os.version")).append(". ").append(setup).append(".\n");
        md.append("Memory: the proxy's proportional set size (all its processes), read after a full GC for the JVM (heap"
                + " and direct: the JVM's own meters); per tunnel = growth over all the tunnels / their number; marginal ="
                + " growth over the second half / its number (without one-off first-touch costs). Kernel: growth of the"
                + " machine's TCP buffer pages and slab per tunnel, minus the same with no proxy (so: the proxy's two"
                + " sockets). CPU: the proxy's user + system time over the measured window. Errors: ")
                .append(errors()).append(".\n");
        for (Row r : runs.get(0).rows()) {
            md.append("- ").append(r.proxy()).append(": ").append(r.version()).append('\n');
        }
        return md.toString();
    }

    /** The goals, one figure a row: the three proxies side by side, then Fourtuple's over theirs. */
    private void goals(StringBuilder md) {
        md.append("The goals' figures (plaintext; Fourtuple ÷ HAProxy and ÷ nginx: below 1 is less, above 1 more):\n\n");
        md.append("| figure | Fourtuple | HAProxy | nginx | Fourtuple ÷ HAProxy | Fourtuple ÷ nginx |\n");
        md.append("|---|---|---|---|---|---|\n");
        goal(md, "HTTP proxy CPU-s per 1M requests (t2 c200)", r -> perMillion(r.httpT2C200().cpu(), r.httpT2C200().requests()), "%.1f");
        goal(md, "HTTP requests/s (t2 c200)", r -> r.httpT2C200().requestsPerSecond(), "%.0f");
        goal(md, "HTTP p99 (t2 c200)", r -> r.httpT2C200().p99Millis(), "%.2f ms");
        goal(md, "echo proxy CPU-s per 1M messages", r -> perMillion(r.echo().cpu(), r.echo().messages()), "%.1f");
        goal(md, "echo p99", r -> r.echo().p99Micros() / 1e3, "%.1f ms");
        goal(md, "WebSocket connects/s cold (first " + connectsPerRun(r -> r.coldConnects().attempted()) + ")",
                r -> r.coldConnects().perSecond(), "%.0f");
        goal(md, "WebSocket connects/s warm", r -> r.warmConnects().perSecond(), "%.0f");
        goal(md, "proxy CPU-s per 1,000 connects, warm", r -> r.warmConnects().cpuPerThousand(), "%.2f");
        goal(md, "proxy CPU-s per 1,000 connects, cold", r -> r.coldConnects().cpuPerThousand(), "%.2f");
        goal(md, "memory per idle tunnel (proxy PSS)", r -> Run.memoryPerTunnel(r.idle()) / 1000, "%.1f KB");
        md.append("| memory per idle tunnel ÷ HAProxy's | ")
                .append(ratio(plain(OURS, r -> Run.memoryPerTunnel(r.idle())), plain(REFERENCE, r -> Run.memoryPerTunnel(r.idle()))))
                .append(" | 1.00 | ")
                .append(ratio(plain(NGINX, r -> Run.memoryPerTunnel(r.idle())), plain(REFERENCE, r -> Run.memoryPerTunnel(r.idle()))))
                .append(" | | |\n");
    }

    private void goal(StringBuilder md, String name, ToDoubleFunction<Row> value, String format) {
        md.append("| ").append(name)
                .append(" | ").append(figure(plain(OURS, value), format))
                .append(" | ").append(figure(plain(REFERENCE, value), format))
                .append(" | ").append(figure(plain(NGINX, value), format))
                .append(" | ").append(ratio(plain(OURS, value), plain(REFERENCE, value)))
                .append(" | ").append(ratio(plain(OURS, value), plain(NGINX, value)))
                .append(" |\n");
    }

    private String connectsPerRun(ToDoubleFunction<Row> count) {
        return figure(run -> run.rows().stream().findFirst().map(count::applyAsDouble), "%,.0f");
    }

    private void memory(StringBuilder md) {
        md.append("\nMemory, idle WebSocket tunnels:\n\n");
        md.append("| proxy | before tunnels | per tunnel | vs HAProxy | marginal per tunnel | vs HAProxy"
                + " | JVM heap / direct per tunnel | kernel per tunnel | vs HAProxy | connects/s |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|\n");
        for (String p : proxies(false)) {
            Figure perTunnel = plain(p, r -> Run.memoryPerTunnel(r.idle()));
            Figure marginal = plain(p, r -> r.idle().marginalPerTunnel());
            md.append("| ").append(p)
                    .append(" | ").append(figure(plain(p, r -> r.idle().pssBeforeBytes() / 1e6), "%.0f MB"))
                    .append(" | ").append(kb(perTunnel))
                    .append(" | ").append(ratio(perTunnel, plain(REFERENCE, r -> Run.memoryPerTunnel(r.idle()))))
                    .append(" | ").append(kb(marginal))
                    .append(" | ").append(ratio(marginal, plain(REFERENCE, r -> r.idle().marginalPerTunnel())))
                    .append(" | ").append(jvm(run -> run.row(p).map(Row::idle)))
                    .append(" | ").append(kb(kernel(p)))
                    .append(" | ").append(ratio(kernel(p), kernel(REFERENCE)))
                    .append(" | ").append(figure(plain(p, r -> r.idle().connectsPerSecond()), "%.0f"))
                    .append(" |\n");
        }
    }

    private void echo(StringBuilder md) {
        md.append("\nEcho, one 64-byte message in flight per connection (no proxy: clients straight to a backend, for"
                + " scale):\n\n");
        md.append("| proxy | echo msgs/s | echo p50 / p99 / p99.9 | p99 vs HAProxy | CPU-s per 1M msgs (kernel)"
                + " | msgs per CPU-s vs HAProxy | vs nginx |\n");
        md.append("|---|---|---|---|---|---|---|\n");
        for (String p : proxies(true)) {
            boolean proxied = !p.equals(Run.BASELINE);
            md.append("| ").append(p)
                    .append(" | ").append(figure(plain(p, r -> r.echo().messagesPerSecond()), "%.0f"))
                    .append(" | ").append(figure(plain(p, r -> r.echo().p50Micros() / 1e3), "%.1f"))
                    .append(" / ").append(figure(plain(p, r -> r.echo().p99Micros() / 1e3), "%.1f"))
                    .append(" / ").append(figure(plain(p, r -> r.echo().p999Micros() / 1e3), "%.1f ms"))
                    .append(" | ").append(proxied ? ratio(plain(p, r -> r.echo().p99Micros()),
                            plain(REFERENCE, r -> r.echo().p99Micros())) : "-")
                    .append(" | ").append(proxied ? cpuPerMillion(p, r -> r.echo().cpu(), r -> r.echo().messages()) : "-")
                    .append(" | ").append(proxied ? ratio(plain(p, r -> r.echo().messagesPerCpuSecond()),
                            plain(REFERENCE, r -> r.echo().messagesPerCpuSecond())) : "-")
                    .append(" | ").append(proxied ? ratio(plain(p, r -> r.echo().messagesPerCpuSecond()),
                            plain(NGINX, r -> r.echo().messagesPerCpuSecond())) : "-")
                    .append(" |\n");
        }
    }

    /** Both wrk shapes side by side: the users' (t2 c200) and that of earlier runs (t1 c64). */
    private void http(StringBuilder md) {
        md.append("\nHTTP, wrk keep-alive GETs /status/200 over the backends round robin (req per CPU-s vs"
                + " HAProxy / nginx: above 1 is more work per CPU-second):\n\n");
        md.append("| proxy | t2 c200 req/s | p99 | CPU-s per 1M req (kernel) | req per CPU-s vs HAProxy | vs nginx"
                + " | t1 c64 req/s | p99 | CPU-s per 1M req (kernel) | req per CPU-s vs HAProxy | vs nginx |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (String p : proxies(true)) {
            md.append("| ").append(p);
            httpCells(md, p, Row::httpT2C200);
            httpCells(md, p, Row::httpT1C64);
            md.append(" |\n");
        }
    }

    private void httpCells(StringBuilder md, String p, Function<Row, Row.Http> shape) {
        boolean proxied = !p.equals(Run.BASELINE);
        md.append(" | ").append(figure(plain(p, r -> shape.apply(r).requestsPerSecond()), "%.0f"))
                .append(" | ").append(figure(plain(p, r -> shape.apply(r).p99Millis()), "%.2f ms"))
                .append(" | ").append(proxied ? cpuPerMillion(p, r -> shape.apply(r).cpu(), r -> shape.apply(r).requests()) : "-")
                .append(" | ").append(proxied ? ratio(plain(p, r -> shape.apply(r).requestsPerCpuSecond()),
                        plain(REFERENCE, r -> shape.apply(r).requestsPerCpuSecond())) : "-")
                .append(" | ").append(proxied ? ratio(plain(p, r -> shape.apply(r).requestsPerCpuSecond()),
                        plain(NGINX, r -> shape.apply(r).requestsPerCpuSecond())) : "-");
    }

    private void connects(StringBuilder md) {
        Row.Connects any = runs.get(0).rows().get(0).coldConnects();
        md.append("\nWebSocket connects (each a new TCP connection, GET /ws answered 101, one 64-byte echo, the client's"
                + " close; ").append(any.concurrency()).append(" in flight, ").append(any.attempted())
                .append(" per measurement): cold = right after the proxy started, before the warm-up; warm = after"
                + " it. CPU vs HAProxy: a ratio of costs, below 1 is less:\n\n");
        md.append("| proxy | cold connects/s | cold CPU-s per 1k | cold p50 / p99 | warm connects/s | warm CPU-s per 1k"
                + " | warm p50 / p99 | warm CPU vs HAProxy | cold CPU vs HAProxy | errors cold / warm"
                + " | TIME_WAIT on the proxy's listening side |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (String p : proxies(true)) {
            boolean proxied = !p.equals(Run.BASELINE);
            md.append("| ").append(p);
            for (Function<Row, Row.Connects> which : List.<Function<Row, Row.Connects>>of(Row::coldConnects,
                    Row::warmConnects)) {
                md.append(" | ").append(figure(plain(p, r -> which.apply(r).perSecond()), "%.0f"))
                        .append(" | ").append(proxied ? figure(plain(p, r -> which.apply(r).cpuPerThousand()), "%.2f") : "-")
                        .append(" | ").append(figure(plain(p, r -> which.apply(r).p50Millis()), "%.1f"))
                        .append(" / ").append(figure(plain(p, r -> which.apply(r).p99Millis()), "%.1f ms"));
            }
            md.append(" | ").append(proxied ? ratio(plain(p, r -> r.warmConnects().cpuPerThousand()),
                            plain(REFERENCE, r -> r.warmConnects().cpuPerThousand())) : "-")
                    .append(" | ").append(proxied ? ratio(plain(p, r -> r.coldConnects().cpuPerThousand()),
                            plain(REFERENCE, r -> r.coldConnects().cpuPerThousand())) : "-")
                    .append(" | ").append(figure(plain(p, r -> r.coldConnects().errors()), "%.0f"))
                    .append(" / ").append(figure(plain(p, r -> r.warmConnects().errors()), "%.0f"))
                    .append(" | ").append(figure(plain(p,
                            r -> r.coldConnects().timeWaitOnListener() + r.warmConnects().timeWaitOnListener()), "%.0f"))
                    .append(" |\n");
        }
        md.append("\nConnect time: from the TCP connect to the close, per connect. TIME_WAIT: sockets on the listening"
                + " port left by the proxy closing first, after both measurements (the client closes first, so these"
                + " should be none).\n");
    }

    // Cells shared with TlsTables.

    /** The proxies in the order of the first run, with or without "no proxy". */
    List<String> proxies(boolean withBaseline) {
        return runs.get(0).rows().stream().map(Row::proxy)
                .filter(p -> withBaseline || !p.equals(Run.BASELINE)).toList();
    }

    /** The proxies with a TLS row in any run, in the order they ran. */
    List<String> tlsProxies() {
        LinkedHashSet<String> names = new LinkedHashSet<>();
        runs.forEach(run -> run.tlsRows().forEach(r -> names.add(r.proxy())));
        return List.copyOf(names);
    }

    List<Run> runs() {
        return runs;
    }

    String figure(Figure figure, String format) {
        return Ranges.of(runs.stream().map(figure).flatMap(Optional::stream).toList(), format);
    }

    /** Per run, value ÷ reference (both of that run), as a range. */
    String ratio(Figure value, Figure reference) {
        List<Double> ratios = new ArrayList<>();
        for (Run run : runs) {
            Optional<Double> v = value.apply(run);
            Optional<Double> ref = reference.apply(run).filter(x -> x > 0);
            if (v.isPresent() && ref.isPresent()) {
                ratios.add(v.get() / ref.get());
            }
        }
        return Ranges.of(ratios, "%.2f");
    }

    static Figure plain(String proxy, ToDoubleFunction<Row> value) {
        return run -> run.row(proxy).map(value::applyAsDouble);
    }

    static Figure tls(String proxy, ToDoubleFunction<TlsRow> value) {
        return run -> run.tlsRow(proxy).map(value::applyAsDouble);
    }

    private static Figure kernel(String proxy) {
        return run -> run.row(proxy).map(r -> run.kernelShare(r.idle()));
    }

    String kb(Figure bytes) {
        return figure(run -> bytes.apply(run).map(b -> b / 1000), "%.1f KB");
    }

    /** "heap / direct" per tunnel, "-" for a proxy that is not a JVM. */
    String jvm(Function<Run, Optional<Row.Idle>> idle) {
        Figure heap = run -> idle.apply(run).filter(i -> i.heapBytes() != null)
                .map(i -> i.perTunnel(i.heapBytes()));
        if (runs.stream().map(heap).allMatch(Optional::isEmpty)) {
            return "-";
        }
        Figure direct = run -> idle.apply(run).filter(i -> i.heapBytes() != null)
                .map(i -> i.perTunnel(i.directBytes() == null ? 0 : i.directBytes()));
        return kb(heap) + " / " + kb(direct);
    }

    /** CPU-seconds per million operations, with the kernel's part: "24.2 (17.1)". */
    String cpuPerMillion(Function<Run, Optional<ProcessTree.CpuTime>> cpu, Function<Run, Optional<Long>> operations) {
        Figure total = run -> cpu.apply(run).flatMap(c -> operations.apply(run).map(n -> perMillion(c, n)));
        Figure system = run -> cpu.apply(run).flatMap(c -> operations.apply(run)
                .map(n -> n == 0 ? Double.NaN : c.system() / n * 1e6));
        return figure(total, "%.1f") + " (" + figure(system, "%.1f") + ")";
    }

    private String cpuPerMillion(String p, Function<Row, ProcessTree.CpuTime> cpu, ToLongFunction<Row> operations) {
        return cpuPerMillion(run -> run.row(p).map(cpu), run -> run.row(p).map(operations::applyAsLong));
    }

    static double perMillion(ProcessTree.CpuTime cpu, long operations) {
        return operations == 0 ? Double.NaN : cpu.total() / operations * 1e6;
    }

    private String errors() {
        List<String> errors = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) {
            for (Row r : runs.get(i).rows()) {
                long n = r.idle().failed() + r.echo().errors() + r.httpT1C64().errors() + r.httpT2C200().errors()
                        + r.coldConnects().errors() + r.warmConnects().errors();
                if (n > 0) {
                    errors.add((runs.size() > 1 ? "run " + (i + 1) + " " : "") + r.proxy() + " " + n + " (idle "
                            + r.idle().failed() + ", echo " + r.echo().errors() + ", http t2 c200 "
                            + r.httpT2C200().errors() + ", http t1 c64 " + r.httpT1C64().errors() + ", connects cold "
                            + r.coldConnects().errors() + ", warm " + r.warmConnects().errors()
                            + firstError(r) + ")");
                }
            }
        }
        return errors.isEmpty() ? "none" : String.join("; ", errors);
    }

    private static String firstError(Row r) {
        List<String> kinds = new ArrayList<>(r.coldConnects().errorKinds());
        kinds.addAll(r.warmConnects().errorKinds());
        return kinds.isEmpty() ? "" : "; first connect error: " + kinds.get(0);
    }

    /** Every run's raw figures, and the derived ones a reader would otherwise recompute. */
    private Map<String, Object> data() {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("when", when);
        data.put("setup", setup);
        data.put("cores", Runtime.getRuntime().availableProcessors());
        data.put("kernel", System.getProperty("os.version"));
        List<Map<String, Object>> list = new ArrayList<>();
        for (Run run : runs) {
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("rows", run.rows().stream().map(r -> row(run, r)).toList());
            one.put("tls", run.tlsRows().stream().map(r -> TlsTables.data(run, r)).toList());
            one.put("tlsFailures", run.tlsFailures());
            list.add(one);
        }
        data.put("runs", list);
        return data;
    }

    private static Map<String, Object> row(Run run, Row r) {
        Map<String, Object> row = run.idleData(r.proxy(), r.version(), r.idle());
        row.put("echo", r.echo());
        row.put("echoMessagesPerSecond", Math.round(r.echo().messagesPerSecond()));
        row.put("echoMessagesPerCpuSecond", Math.round(r.echo().messagesPerCpuSecond()));
        row.put("httpT1C64", r.httpT1C64());
        row.put("httpT1C64RequestsPerCpuSecond", Math.round(r.httpT1C64().requestsPerCpuSecond()));
        row.put("httpT2C200", r.httpT2C200());
        row.put("httpT2C200RequestsPerCpuSecond", Math.round(r.httpT2C200().requestsPerCpuSecond()));
        row.put("coldConnects", r.coldConnects());
        row.put("coldConnectsPerSecond", Math.round(r.coldConnects().perSecond()));
        row.put("coldCpuSecondsPerThousandConnects", r.coldConnects().cpuPerThousand());
        row.put("warmConnects", r.warmConnects());
        row.put("warmConnectsPerSecond", Math.round(r.warmConnects().perSecond()));
        row.put("warmCpuSecondsPerThousandConnects", r.warmConnects().cpuPerThousand());
        return row;
    }
}
