package dev.fourtuple.bench;

import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.HdrHistogram.Histogram;
import org.jspecify.annotations.Nullable;

/**
 * The Markdown section of one {@link HandoverScenario} run: the handover's phases and CPU, then the pauses the
 * tunnels saw in the handover window against the baseline window of the same run, the frame checks, when the
 * pauses came, and the gateways' own log lines about it.
 */
final class HandoverReport {
    private static final double MS = 1e6;

    /**
     * When the handover's steps happened: the request (as this process saw it, wall clock and nanoTime), the
     * gateways' log lines, the old process's exit and the {@code upgrade} command's return (0: not seen).
     */
    record Phases(LocalTime requestedAt, long requestedNanos, LogFollower.Match launched,
            LogFollower.@Nullable Match accepting, LogFollower.@Nullable Match moving, LogFollower.@Nullable Match moved,
            LogFollower.@Nullable Match tookOver, long oldExitedNanos, @Nullable Integer oldExit,
            long upgradeReturnedNanos, @Nullable Integer upgradeExit, String upgradeOutput) {
        /** The last step seen: the successor's "took over" line, else the old process's exit, else the start. */
        long endNanos() {
            long end = tookOver != null ? tookOver.line().readNanos() : launched.line().readNanos();
            return Math.max(end, oldExitedNanos);
        }
    }

    /**
     * The measuring windows, nanoTime: the baseline, the handover window (from its end the second baseline, as
     * long as the handover window, runs until {@code afterEnd}).
     */
    record Windows(long baselineStart, long baselineEnd, long handoverStart, long handoverEnd, long afterEnd) {
        double baselineSeconds() {
            return (baselineEnd - baselineStart) / 1e9;
        }

        double handoverSeconds() {
            return (handoverEnd - handoverStart) / 1e9;
        }

        double afterSeconds() {
            return (afterEnd - handoverEnd) / 1e9;
        }
    }

    /** Cores kept busy in a window: by this run's processes (client, backend, gateways), by all others. */
    record Load(double ours, double others) {
    }

    /**
     * The machine around the run (it is shared): load averages, and per window the cores kept busy by this
     * run's processes (client, backend, gateways) and by all others.
     */
    record Machine(String loadAtStart, String loadAtEnd, Load baseline, Load handover, Load after,
            double baselineClient, double baselineBackend, double baselineGateway, double afterGateway) {
    }

    private final HandoverScenario.Settings settings;
    private final Phases phases;
    private final Windows windows;
    private final long tunnelsBefore;
    private final long tunnelsAfter;
    private final StringBuilder cpuRows = new StringBuilder();
    private final StringBuilder pauseRows = new StringBuilder();
    private final List<String> logLines = new ArrayList<>();
    private String cpuNote = "";
    private String integrity = "";
    private String comparison = "";
    private String timeline = "";
    private String saturation = "";
    private @Nullable Machine machine;
    private @Nullable String failure;
    private long failedNanos;

    HandoverReport(HandoverScenario.Settings settings, Phases phases, Windows windows, long tunnelsBefore,
            long tunnelsAfter) {
        this.settings = settings;
        this.phases = phases;
        this.windows = windows;
        this.tunnelsBefore = tunnelsBefore;
        this.tunnelsAfter = tunnelsAfter;
    }

    /**
     * Each phase's wall time and each process's CPU-seconds in it, from the moment the old process started its
     * successor (its "upgrade: started successor" line: the request as the gateway acted on it); the extra CPU
     * over the baseline rate.
     */
    HandoverReport cpu(CpuSampler cpu, long oldPid, long newPid) {
        LogFollower.Match acceptingLine = Objects.requireNonNull(phases.accepting());
        LogFollower.Match movingLine = Objects.requireNonNull(phases.moving());
        LogFollower.Match movedLine = Objects.requireNonNull(phases.moved());
        LogFollower.Match tookOverLine = Objects.requireNonNull(phases.tookOver());
        long origin = phases.launched().line().readNanos();
        long accepting = acceptingLine.line().readNanos();
        long moving = movingLine.line().readNanos();
        long moved = movedLine.line().readNanos();
        long tookOver = tookOverLine.line().readNanos();
        double oldAtOrigin = total(cpu.at(oldPid, origin));
        double oldAtAccepting = total(cpu.at(oldPid, accepting));
        double oldAtMoving = total(cpu.at(oldPid, moving));
        double oldAtMoved = total(cpu.at(oldPid, moved));
        CpuSampler.Sample oldLast = cpu.last(oldPid);
        double oldAtExit = oldLast == null ? Double.NaN : oldLast.cpu().total();
        double newAtAccepting = total(cpu.at(newPid, accepting));
        double newAtMoving = total(cpu.at(newPid, moving));
        double newAtMoved = total(cpu.at(newPid, moved));
        double newAtTookOver = total(cpu.at(newPid, tookOver));
        double rate = (total(cpu.at(oldPid, windows.baselineEnd())) - total(cpu.at(oldPid, windows.baselineStart())))
                / windows.baselineSeconds();

        LocalTime requestSeen = phases.launched().line().stamped();
        row(cpuRows, (settings.method().equals("upgrade") ? "`fourtuple upgrade` launched" : "`kill -USR2` sent")
                + " → the gateway starts its successor (\"upgrade: started successor\")",
                requestSeen == null ? "?" : ms(LogFollower.between(phases.requestedAt(), requestSeen)), "-", "-");
        row(cpuRows, "started → successor accepts on the listening sockets (its JVM start-up, config, the "
                + "listening sockets passed: its \"listening on ... taken over\" line)", since(acceptingLine),
                cpuS(oldAtAccepting - oldAtOrigin), cpuS(newAtAccepting) + " (start-up)");
        row(cpuRows, "successor accepting → old process stops accepting (\"moving N connection(s)\")",
                between(acceptingLine, movingLine), cpuS(oldAtMoving - oldAtAccepting),
                cpuS(newAtMoving - newAtAccepting));
        long count = Long.parseLong(movingLine.group(2));
        Duration movingPhase = stampedBetween(movingLine, movedLine);
        row(cpuRows, "**moving the tunnels**: \"moving " + count + " connection(s)\" → \"" + movedLine.group(1)
                + " connection(s) moved\"", "**" + ms(movingPhase) + "**" + (movingPhase == null || count == 0 ? ""
                        : " (" + String.format(Locale.ROOT, "%.0f", movingPhase.toNanos() / 1e3 / count)
                                + " µs per connection)"),
                cpuS(oldAtMoved - oldAtMoving), cpuS(newAtMoved - newAtMoving));
        row(cpuRows, "**started → everything handed over** (the \"moved\" line)", "**" + since(movedLine) + "**",
                cpuS(oldAtMoved - oldAtOrigin), cpuS(newAtMoved));
        row(cpuRows, "started → successor's \"took over from pid\" line", since(tookOverLine), "-",
                cpuS(newAtTookOver));
        row(cpuRows, "started → old process exited (code " + phases.oldExit() + ")",
                phases.oldExitedNanos() == 0 ? "did not exit" : ms(phases.oldExitedNanos() - origin),
                cpuS(oldAtExit - oldAtOrigin), "-");
        if (phases.upgradeExit() != null) {
            row(cpuRows, "`fourtuple upgrade` launched → returned (exit " + phases.upgradeExit() + ")",
                    ms(phases.upgradeReturnedNanos() - phases.requestedNanos()), "-", "-");
        }
        long spanEnd = Math.max(tookOver, phases.oldExitedNanos());
        double spanSeconds = (spanEnd - origin) / 1e9;
        double newAtEnd = total(cpu.at(newPid, spanEnd));
        double both = (oldAtExit - oldAtOrigin) + newAtEnd;
        row(cpuRows, "both processes, started → old exited / successor took over (the later)", ms(spanEnd - origin),
                cpuS(oldAtExit - oldAtOrigin), cpuS(newAtEnd));
        cpuNote = String.format(Locale.ROOT, "The old process relays the echo until each tunnel leaves it, the "
                + "successor from when each arrives: in the baseline window the gateway used %.2f CPU-s per second "
                + "(relaying the echo of %d tunnels). Over the %.2f s from the start of the successor until both were "
                + "done, the two processes used %.2f CPU-s; at the baseline rate the same span costs %.2f: the "
                + "handover's own cost is about **%.2f CPU-s**, %.2f of it the successor's start-up (to its first "
                + "accept), %.2f the moving phase (both processes, less the baseline rate).",
                rate, settings.idle(), spanSeconds, both, rate * spanSeconds, both - rate * spanSeconds,
                newAtAccepting, (oldAtMoved - oldAtMoving) + (newAtMoved - newAtMoving)
                        - rate * (moved - moving) / 1e9);
        return this;
    }

    /** Per window, the distribution over tunnels of each one's longest gap; frame checks; when the pauses came. */
    HandoverReport pauses(List<PacedEcho.TunnelResult> results, PacedEcho echo) {
        double periodMs = settings.period().toNanos() / MS;
        double[][] gaps = new double[4][];
        String[] names = {"", "baseline (no handover)", "**handover**", "second baseline (the successor alone)"};
        double[] lengths = {0, windows.baselineSeconds(), windows.handoverSeconds(), windows.afterSeconds()};
        for (int w = 1; w <= 3; w++) {
            double[] g = new double[results.size()];
            for (int i = 0; i < g.length; i++) {
                g[i] = results.get(i).maxGapNanos()[w] / MS;
            }
            Arrays.sort(g);
            gaps[w] = g;
            Histogram rtt = echo.roundTrips(w);
            long over = Arrays.stream(g).filter(x -> x > 2 * periodMs).count();
            if (lengths[w] <= 0) {
                continue;
            }
            row(pauseRows, names[w], String.format(Locale.ROOT, "%.1f s", lengths[w]),
                    String.valueOf(g.length),
                    fmt(at(g, 50)) + " / " + fmt(at(g, 99)) + " / **" + fmt(g.length == 0 ? 0 : g[g.length - 1])
                            + "**",
                    String.valueOf(over),
                    fmt(rtt.getValueAtPercentile(50) / MS) + " / " + fmt(rtt.getValueAtPercentile(99) / MS) + " / "
                            + fmt(rtt.getMaxValue() / MS),
                    String.valueOf(rtt.getTotalCount()));
        }
        comparison = compare("the baseline", gaps[2], gaps[1])
                + (lengths[3] > 0 ? " " + compare("the second baseline (the same length)", gaps[2], gaps[3]) : "");
        if (at(gaps[1], 50) > 2 * periodMs) {
            saturation = String.format(Locale.ROOT, "**The baseline is saturated**: half the tunnels saw a gap of "
                    + "over %.0f ms with no handover at all (the period is %.0f ms): this machine does not keep up with "
                    + "%d echoes a second, so the figures above measure queueing as much as the handover (a longer "
                    + "PERIOD_MS, fewer tunnels or a quieter machine).", at(gaps[1], 50), periodMs,
                    Math.round(settings.idle() * 1000 / periodMs));
        }
        long sent = 0;
        long received = 0;
        long duplicated = 0;
        long reordered = 0;
        long malformed = 0;
        long closed = 0;
        for (PacedEcho.TunnelResult r : results) {
            sent += r.sent();
            received += r.received();
            duplicated += r.duplicated();
            reordered += r.reordered();
            malformed += r.malformed();
            closed += r.closed() ? 1 : 0;
        }
        boolean clean = sent == received && duplicated == 0 && reordered == 0 && malformed == 0 && closed == 0;
        integrity = String.format(Locale.ROOT, "Frames over the whole run (warm-up to the end): %d sent, %d echoed "
                + "back, %d lost, %d duplicated, %d out of order, %d malformed; tunnels closed: %d of %d. %s",
                sent, received, sent - received, duplicated, reordered, malformed, closed, results.size(),
                clean ? "**No frame lost, duplicated or reordered; no tunnel closed.**" : "**NOT CLEAN.**");
        timeline = timeline(echo.timeline());
        return this;
    }

    private static String compare(String against, double[] handover, double[] baseline) {
        return String.format(Locale.ROOT, "Handover window against %s, per-tunnel longest gap: max %+.1f ms (x%.2f), "
                        + "p99 %+.1f ms (x%.2f), p50 %+.1f ms (x%.2f).", against,
                max(handover) - max(baseline), max(handover) / max(baseline),
                at(handover, 99) - at(baseline, 99), at(handover, 99) / at(baseline, 99),
                at(handover, 50) - at(baseline, 50), at(handover, 50) / at(baseline, 50));
    }

    /**
     * From a second before the successor started to a second after the handover ended, in at most 40 rows:
     * buckets of 250 ms, merged in twos or more when the span is longer.
     */
    private String timeline(PacedEcho.@Nullable Timeline t) {
        if (t == null) {
            return "";
        }
        long origin = phases.launched().line().readNanos();
        int first = (int) Math.max(0, (origin - 1_000_000_000L - t.origin()) / t.bucketNanos());
        long end = Math.max(phases.endNanos(), failedNanos) + 1_000_000_000L;
        int last = (int) Math.min(t.buckets() - 1, (end - t.origin()) / t.bucketNanos());
        int merge = Math.max(1, (last - first + 40) / 40);
        StringBuilder rows = new StringBuilder("| from the successor's start | longest gap ending in it | echoes "
                + "received |\n|---|---|---|\n");
        for (int b = first; b <= last; b += merge) {
            long gap = 0;
            long echoes = 0;
            for (int i = b; i < Math.min(b + merge, t.buckets()); i++) {
                gap = Math.max(gap, t.maxGapNanos(i));
                echoes += t.echoes(i);
            }
            long start = t.origin() + b * t.bucketNanos();
            rows.append(String.format(Locale.ROOT, "| %+.2f s .. %+.2f s | %s ms | %d |%n", (start - origin) / 1e9,
                    (start + merge * t.bucketNanos() - origin) / 1e9, fmt(gap / MS), echoes));
        }
        return rows.toString();
    }

    /** The handover failed: {@code line} (the first line that said so) instead of the phases. */
    HandoverReport failed(LogFollower.Match line) {
        failure = line.line().text();
        failedNanos = line.line().readNanos();
        return this;
    }

    HandoverReport machine(Machine figures) {
        this.machine = figures;
        return this;
    }

    HandoverReport logLines(List<LogFollower.Match> matches) {
        for (LogFollower.Match m : matches) {
            logLines.add(m.line().text());
        }
        return this;
    }

    String markdown() {
        StringBuilder md = new StringBuilder();
        md.append("## ").append(settings.idle()).append(" tunnels, ")
                .append(ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm'Z'")))
                .append("\n\n");
        md.append("Command: `").append(settings.command()).append("`\n\n");
        md.append(String.format(Locale.ROOT, "%d cores, %s; gateway: `%s`, event-loops = %d, transport epoll; "
                        + "every tunnel sends a %d-byte binary frame every %d ms through the gateway to an echo backend "
                        + "(its own process); warm-up %d s, then a %d-s baseline window, then a window of the same length "
                        + "with the handover requested %d s into it (%s; it runs on until 2 s after the handover if "
                        + "that takes longer), then a second baseline as long as the handover window.%n%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("os.name") + " "
                        + System.getProperty("os.version"), String.join(" ", settings.jvm()), settings.eventLoops(),
                PacedEcho.FRAME_BYTES, settings.period().toMillis(), settings.warmup().toSeconds(),
                settings.window().toSeconds(), 2, settings.method().equals("upgrade")
                        ? "`fourtuple upgrade --config FILE`" : "`kill -USR2 PID`"));
        LogFollower.Match moved = phases.moved();
        LogFollower.Match tookOver = phases.tookOver();
        if (failure != null || moved == null || tookOver == null) {
            md.append("**The handover failed**: `").append(failure).append("`. Tunnels (admin /status): ")
                    .append(tunnelsBefore).append(" before, ").append(tunnelsAfter < 0 ? "no answer" : tunnelsAfter)
                    .append(" after, a few seconds later (whichever process serves the admin address).\n\n");
        } else {
            md.append(String.format(Locale.ROOT, "Tunnels (admin /status): %d before, %d after (successor); the old "
                            + "process moved %s, %s stayed to drain; the successor resumed %s (%s could not be).%n%n",
                    tunnelsBefore, tunnelsAfter, moved.group(1), moved.group(3), tookOver.group(2), tookOver.group(3)));
        }
        if (!phases.upgradeOutput().isEmpty()) {
            md.append("`fourtuple upgrade` printed: `").append(phases.upgradeOutput().replace("\n", " / "))
                    .append("`\n\n");
        }
        if (cpuRows.length() > 0) {
            md.append("| phase | wall time | old process CPU-s | new process CPU-s |\n|---|---|---|---|\n")
                    .append(cpuRows).append('\n').append(cpuNote).append("\n\n");
        }
        md.append("Pauses: per tunnel, the longest gap between two consecutive echoes received in the window; "
                + "the distribution of those over the tunnels.\n\n");
        md.append("| window | length | tunnels | per-tunnel longest gap p50 / p99 / max (ms) | tunnels with a gap > 2 "
                + "periods | echo round trip p50 / p99 / max (ms) | echoes |\n|---|---|---|---|---|---|---|\n")
                .append(pauseRows).append('\n').append(comparison).append("\n\n").append(integrity).append("\n\n");
        if (!saturation.isEmpty()) {
            md.append(saturation).append("\n\n");
        }
        Machine m = machine;
        if (m != null) {
            md.append(String.format(Locale.ROOT, "Machine (shared): load average %s at the start, %s at the end; "
                            + "cores kept busy by this run's processes (client, backend, gateways) / by all others: "
                            + "%.2f / %.2f in the baseline (client %.2f, backend %.2f, gateway %.2f), %.2f / %.2f in "
                            + "the handover window, %.2f / %.2f in the second baseline (the successor %.2f).%n%n",
                    m.loadAtStart(), m.loadAtEnd(), m.baseline().ours(), m.baseline().others(), m.baselineClient(),
                    m.baselineBackend(), m.baselineGateway(), m.handover().ours(), m.handover().others(),
                    m.after().ours(), m.after().others(), m.afterGateway()));
        }
        md.append("When the pauses came, within the handover window:\n\n").append(timeline).append('\n');
        md.append("Wall times are the gateways' log timestamps (ms), from the old process's \"started successor\" line "
                + "unless said otherwise; CPU is "
                + "/proc/PID/stat utime+stime (10-ms ticks) of each process alone, read every 5 ms, at the moment "
                + "each log line was read here.\n\nThe gateways' log lines about it:\n\n```\n");
        logLines.forEach(l -> md.append(l).append('\n'));
        md.append("```\n");
        return md.toString();
    }

    /** From the "started successor" line to {@code m}, as stamped. */
    private String since(LogFollower.Match m) {
        return between(phases.launched(), m);
    }

    private static @Nullable Duration stampedBetween(LogFollower.Match a, LogFollower.Match b) {
        LocalTime from = a.line().stamped();
        LocalTime to = b.line().stamped();
        return from == null || to == null ? null : LogFollower.between(from, to);
    }

    private static String between(LogFollower.Match a, LogFollower.Match b) {
        return ms(stampedBetween(a, b));
    }

    private static void row(StringBuilder rows, String... cells) {
        rows.append("| ").append(String.join(" | ", cells)).append(" |\n");
    }

    private static double total(ProcessTree.@Nullable CpuTime cpu) {
        return cpu == null ? Double.NaN : cpu.total();
    }

    private static String cpuS(double seconds) {
        return Double.isNaN(seconds) ? "?" : String.format(Locale.ROOT, "%.2f", seconds);
    }

    private static String ms(@Nullable Duration d) {
        return d == null ? "?" : d.toMillis() + " ms";
    }

    private static String ms(long nanos) {
        return Math.round(nanos / MS) + " ms";
    }

    private static String fmt(double ms) {
        return String.format(Locale.ROOT, ms >= 100 ? "%.0f" : "%.1f", ms);
    }

    private static double at(double[] sorted, double percentile) {
        if (sorted.length == 0) {
            return 0;
        }
        int i = (int) Math.ceil(percentile / 100 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    private static double max(double[] sorted) {
        return sorted.length == 0 ? 0 : sorted[sorted.length - 1];
    }
}
