package dev.fourtuple.bench.compare;

import dev.fourtuple.bench.ProcessTree;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/**
 * The TLS part of a {@link Report}: one table with every cost beside HAProxy's as a ratio of costs (lower is
 * better), then the issue-12 goals, each read in every run.
 */
final class TlsTables {
    private static final String REFERENCE = "haproxy";

    private final Report report;

    TlsTables(Report report) {
        this.report = report;
    }

    void append(StringBuilder md) {
        List<Run> runs = report.runs();
        List<String> proxies = report.tlsProxies();
        boolean failures = runs.stream().anyMatch(r -> !r.tlsFailures().isEmpty());
        if (proxies.isEmpty() && !failures) {
            return;
        }
        md.append("\nTLS 1.3, client to proxy (ECDSA P-256, the backends plaintext); every \"vs HAProxy\" here is a"
                + " ratio of costs, lower is better:\n\n");
        md.append("| proxy | per idle wss tunnel | vs HAProxy | marginal per tunnel | JVM heap / direct per tunnel"
                + " | kernel per tunnel | wss connects/s | full handshakes/s | CPU-s per 1k full (kernel) | vs HAProxy"
                + " | resumed handshakes/s (resumed) | CPU-s per 1k resumed (kernel) | vs HAProxy"
                + " | wss echo msgs/s | wss echo p99 | CPU-s per 1M msgs (kernel) | vs HAProxy"
                + " | https req/s | CPU-s per 1M req (kernel) | vs HAProxy |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (String p : proxies) {
            md.append("| ").append(p)
                    .append(" | ").append(report.kb(Report.tls(p, r -> Run.memoryPerTunnel(r.idle()))))
                    .append(" | ").append(report.ratio(Report.tls(p, r -> Run.memoryPerTunnel(r.idle())),
                            Report.tls(REFERENCE, r -> Run.memoryPerTunnel(r.idle()))))
                    .append(" | ").append(report.kb(Report.tls(p, r -> r.idle().marginalPerTunnel())))
                    .append(" | ").append(report.jvm(run -> run.tlsRow(p).map(TlsRow::idle)))
                    .append(" | ").append(report.kb(run -> run.tlsRow(p).map(r -> run.kernelShare(r.idle()))))
                    .append(" | ").append(report.figure(Report.tls(p, r -> r.idle().connectsPerSecond()), "%.0f"));
            handshakes(md, p, TlsRow::full, false);
            handshakes(md, p, TlsRow::resumed, true);
            md.append(" | ").append(report.figure(Report.tls(p, r -> r.echo().messagesPerSecond()), "%.0f"))
                    .append(" | ").append(report.figure(Report.tls(p, r -> r.echo().p99Micros() / 1e3), "%.1f ms"))
                    .append(" | ").append(report.cpuPerMillion(run -> run.tlsRow(p).map(r -> r.echo().cpu()),
                            run -> run.tlsRow(p).map(r -> r.echo().messages())))
                    .append(" | ").append(report.ratio(Report.tls(p, TlsTables::echoCost), Report.tls(REFERENCE, TlsTables::echoCost)))
                    .append(" | ").append(report.figure(Report.tls(p, r -> r.http().requestsPerSecond()), "%.0f"))
                    .append(" | ").append(report.cpuPerMillion(run -> run.tlsRow(p).map(r -> r.http().cpu()),
                            run -> run.tlsRow(p).map(r -> r.http().requests())))
                    .append(" | ").append(report.ratio(Report.tls(p, TlsTables::httpsCost), Report.tls(REFERENCE, TlsTables::httpsCost)))
                    .append(" |\n");
        }
        md.append("\nHandshakes: each a new connection, the TLS handshake, one GET answered, the client's close_notify;"
                + " full: the client resumes nothing; resumed: it offers a ticket from an earlier connection, the share"
                + " that resumed in brackets. Kernel per tunnel: minus the plaintext no-proxy row's, as above."
                + " TLS errors: ").append(errors(runs)).append(".\n");
        for (int i = 0; i < runs.size(); i++) {
            for (String failure : runs.get(i).tlsFailures()) {
                md.append("- no TLS row for ").append(failure).append(runs.size() > 1 ? " (run " + (i + 1) + ")" : "")
                        .append('\n');
            }
        }
        if (proxies.contains("fourtuple") && proxies.contains(REFERENCE)) {
            md.append("\nGoals (fourtuple against HAProxy").append(runs.size() > 1 ? ", each run" : ", this run")
                    .append("):\n\n");
            goal(md, "memory per idle wss tunnel", r -> Run.memoryPerTunnel(r.idle()), 0.8);
            goal(md, "proxy CPU per full handshake", r -> r.full().cpuPerThousand(), 1.0);
            goal(md, "wss echo CPU per message", TlsTables::echoCost, 1.2);
            goal(md, "https CPU per request", TlsTables::httpsCost, 1.2);
        }
        for (TlsRow r : runs.get(0).tlsRows()) {
            md.append("- ").append(r.proxy()).append(" with TLS: ").append(r.version()).append('\n');
        }
    }

    /** Handshakes/s (with the share that resumed), CPU-s per 1,000 (kernel), and that cost beside HAProxy's. */
    private void handshakes(StringBuilder md, String p, Function<TlsRow, TlsRow.Handshakes> which, boolean resumed) {
        md.append(" | ").append(report.figure(Report.tls(p, r -> which.apply(r).perSecond()), "%.0f"));
        if (resumed) {
            md.append(" (").append(report.figure(Report.tls(p, r -> which.apply(r).resumedShare() * 100), "%.0f%%"))
                    .append(")");
        }
        md.append(" | ").append(report.figure(Report.tls(p, r -> which.apply(r).cpuPerThousand()), "%.2f"))
                .append(" (").append(report.figure(Report.tls(p, r -> which.apply(r).systemPerThousand()), "%.2f"))
                .append(")")
                .append(" | ").append(report.ratio(Report.tls(p, r -> which.apply(r).cpuPerThousand()),
                        Report.tls(REFERENCE, r -> which.apply(r).cpuPerThousand())));
    }

    /** One goal: Fourtuple's cost over HAProxy's, in each run; met when at most {@code atMost} in every run. */
    private void goal(StringBuilder md, String what, ToDoubleFunction<TlsRow> cost, double atMost) {
        List<Double> ratios = new ArrayList<>();
        for (Run run : report.runs()) {
            Optional<Double> ours = run.tlsRow("fourtuple").map(cost::applyAsDouble);
            Optional<Double> theirs = run.tlsRow(REFERENCE).map(cost::applyAsDouble).filter(x -> x > 0);
            if (ours.isPresent() && theirs.isPresent()) {
                ratios.add(ours.get() / theirs.get());
            }
        }
        long met = ratios.stream().filter(r -> r <= atMost).count();
        String verdict = ratios.isEmpty() ? "no figure"
                : report.runs().size() == 1 ? (met == 1 ? "met" : "missed")
                : "met in " + met + " of " + ratios.size() + " runs";
        md.append("- ").append(what).append(": ").append(Ranges.of(ratios, "%.2f"))
                .append(" x HAProxy's (goal: at most %.1f x): %s\n".formatted(atMost, verdict));
    }

    private static double echoCost(TlsRow r) {
        return cpuPerOperation(r.echo().cpu(), r.echo().messages());
    }

    private static double httpsCost(TlsRow r) {
        return cpuPerOperation(r.http().cpu(), r.http().requests());
    }

    private static double cpuPerOperation(ProcessTree.CpuTime cpu, long operations) {
        return operations == 0 ? 0 : cpu.total() / operations;
    }

    private static String errors(List<Run> runs) {
        List<String> errors = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) {
            for (TlsRow r : runs.get(i).tlsRows()) {
                if (r.errors() > 0) {
                    errors.add((runs.size() > 1 ? "run " + (i + 1) + " " : "") + r.proxy() + " " + r.errors()
                            + " (idle " + r.idle().failed() + ", full " + r.full().errors() + ", resumed "
                            + r.resumed().errors() + ", echo " + r.echo().errors() + ", https " + r.http().errors() + ")");
                }
            }
        }
        return errors.isEmpty() ? "none" : String.join("; ", errors);
    }

    /** One TLS row for the JSON: its raw figures and the derived ones. */
    static Map<String, Object> data(Run run, TlsRow r) {
        Map<String, Object> row = run.idleData(r.proxy(), r.version(), r.idle());
        row.put("fullHandshakes", r.full());
        row.put("fullHandshakesPerSecond", Math.round(r.full().perSecond()));
        row.put("cpuSecondsPerThousandFullHandshakes", r.full().cpuPerThousand());
        row.put("resumedHandshakes", r.resumed());
        row.put("resumedHandshakesPerSecond", Math.round(r.resumed().perSecond()));
        row.put("cpuSecondsPerThousandResumedHandshakes", r.resumed().cpuPerThousand());
        row.put("echo", r.echo());
        row.put("echoMessagesPerSecond", Math.round(r.echo().messagesPerSecond()));
        row.put("cpuSecondsPerMillionEchoMessages", echoCost(r) * 1e6);
        row.put("http", r.http());
        row.put("cpuSecondsPerMillionHttpsRequests", httpsCost(r) * 1e6);
        return row;
    }
}
