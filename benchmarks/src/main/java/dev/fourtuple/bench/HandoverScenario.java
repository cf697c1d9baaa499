package dev.fourtuple.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Live handover under a paced echo: the gateway (a child process, {@code java -jar fourtuple.jar run}, epoll,
 * {@code handover.socket} set) holds {@code --idle} plaintext WebSocket tunnels to an echo backend (a process
 * of its own, {@code Main echo-backend}); every tunnel sends a small numbered frame every {@code --period-ms}
 * throughout ({@link PacedEcho}). After a warm-up, a baseline window with no handover, then a window of the same
 * length (longer if the handover outlasts it) in which the gateway is asked to hand over ({@code fourtuple
 * upgrade}, or SIGUSR2): its successor takes over the listening sockets and every tunnel; then a second baseline
 * as long as the handover window, the successor alone. Measured: the phases' wall time (the gateways' log lines), the
 * CPU of the old and of the new process ({@code /proc/PID/stat}, each alone), and per tunnel the longest gap
 * between consecutive echoes in each window, with every frame checked (lost, twice, out of order) and every
 * tunnel checked open. Appends a Markdown section to {@code --out}.
 *
 * <pre>
 * java -cp CLASSPATH dev.fourtuple.bench.HandoverScenario --jar gateway/target/fourtuple.jar --idle 8000
 *      --period-ms 100 --window-seconds 20 --method upgrade --out benchmarks/results/handover-DATE.md
 * </pre>
 *
 * Every process it starts (backend, gateway, the successor the gateway starts) is stopped by pid at the end.
 */
public final class HandoverScenario {
    private static final Pattern BACKEND = Pattern.compile("echo backend \\S+ on 127\\.0\\.0\\.1:(\\d+)");
    private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");
    private static final Pattern STARTED = Pattern.compile("upgrade: started successor pid (\\d+)");
    private static final Pattern TAKEN_LISTENING = Pattern.compile("listening on \\S+ \\([^)]*taken over");
    private static final Pattern MOVING = Pattern.compile(
            "handover: successor pid (\\d+) accepts on the listening sockets; this process stopped; moving (\\d+)");
    private static final Pattern MOVED = Pattern.compile(
            "handover: (\\d+) connection\\(s\\) moved to pid (\\d+); (\\d+) stay here and drain");
    private static final Pattern TOOK_OVER = Pattern.compile(
            "took over from pid (\\d+): (\\d+) connection\\(s\\) resumed here \\((\\d+) could not be\\), (\\d+) left");
    private static final Pattern ADMIN = Pattern.compile("admin on http://");
    /** What either process logs when a handover that began does not end with everything moved. */
    private static final Pattern FAILED = Pattern.compile("handover: successor pid \\d+ failed|upgrade: successor pid "
            + "\\d+ exited with code|handover from pid \\d+ broke off|handover: refused successor");
    private static final Pattern TROUBLE = Pattern.compile(" (WARN|ERROR) |Exception|Too many open files|cannot bind");
    private static final Duration LEAD = Duration.ofSeconds(2);
    private static final Duration HANDOVER_TIMEOUT = Duration.ofSeconds(180);

    private HandoverScenario() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            options.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        Settings settings = new Settings(
                Path.of(options.getOrDefault("jar", "gateway/target/fourtuple.jar")),
                Integer.parseInt(options.getOrDefault("idle", "8000")),
                Duration.ofMillis(Long.parseLong(options.getOrDefault("period-ms", "100"))),
                Duration.ofSeconds(Long.parseLong(options.getOrDefault("window-seconds", "20"))),
                Duration.ofSeconds(Long.parseLong(options.getOrDefault("warmup-seconds", "10"))),
                options.getOrDefault("method", "upgrade"),
                List.of(options.getOrDefault("jvm", "@config/jvm.options").trim().split("\\s+")),
                Integer.parseInt(options.getOrDefault("event-loops", "2")),
                Integer.parseInt(options.getOrDefault("client-threads", "2")),
                options.getOrDefault("command", "(not given)"));
        Path out = Path.of(options.getOrDefault("out", "benchmarks/results/handover.md"));
        String report = run(settings);
        System.out.println(report);
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, (Files.exists(out) ? "\n" : "# Live handover under a paced echo\n\n") + report,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        System.out.println("appended to " + out);
    }

    /**
     * What one run does.
     *
     * @param method upgrade ({@code fourtuple upgrade}) or signal ({@code kill -USR2})
     */
    record Settings(Path jar, int idle, Duration period, Duration window, Duration warmup, String method,
            List<String> jvm, int eventLoops, int clientThreads, String command) {
    }

    private static String run(Settings s) throws Exception {
        if (!List.of("upgrade", "signal").contains(s.method())) {
            throw new IllegalArgumentException("--method: " + s.method() + " (expected: upgrade | signal)");
        }
        Path dir = Files.createTempDirectory("handover");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<Process> started = new CopyOnWriteArrayList<>();
        long successor = 0;
        // timeout(1) ends this run with SIGTERM, which runs no finally block: the hook stops what it started.
        Thread hook = new Thread(() -> stopAll(started, dir), "stop-children");
        Runtime.getRuntime().addShutdownHook(hook);
        LogFollower gatewayLog = null;
        try (CpuSampler cpu = new CpuSampler(); WebSocketLoad load = new WebSocketLoad(s.clientThreads())) {
            Process backend = start(started, List.of(java, "-Xms64m", "-Xmx512m", "-cp", s.jar().toString(),
                    "dev.fourtuple.gateway.Main", "echo-backend", "127.0.0.1:0", "echo"), dir.resolve("backend.log"));
            int backendPort;
            try (LogFollower backendLog = LogFollower.follow(dir.resolve("backend.log"))) {
                backendPort = Integer.parseInt(backendLog.await(BACKEND, Duration.ofSeconds(30)).group(1));
            }
            int adminPort = freePort();
            Path config = dir.resolve("gateway.conf");
            Files.writeString(config, """
                    listen = "127.0.0.1:0"
                    transport = epoll
                    event-loops = %d
                    admin.listen = "127.0.0.1:%d"
                    handover { socket = "%s" }
                    clusters { echo { backends = ["127.0.0.1:%d"] } }
                    routes = [ { cluster = echo } ]
                    """.formatted(s.eventLoops(), adminPort, dir.resolve("handover.sock"), backendPort));
            List<String> command = new ArrayList<>(List.of(java));
            command.addAll(s.jvm());
            command.addAll(List.of("-jar", s.jar().toString(), "run", "--config", config.toString()));
            Path logFile = dir.resolve("gateway.log");
            Process gateway = start(started, command, logFile);
            gatewayLog = LogFollower.follow(logFile);
            int port = Integer.parseInt(gatewayLog.await(LISTENING, Duration.ofSeconds(30)).group(1));
            gatewayLog.await(ADMIN, Duration.ofSeconds(30));
            long fdLimit = openFilesLimit(gateway.pid());
            if (fdLimit < 2L * s.idle() + 500) {
                throw new IllegalStateException("the gateway may open " + fdLimit + " files, and " + s.idle()
                        + " tunnels take " + 2 * s.idle() + " (ulimit -n 20000 before starting this)");
            }
            cpu.watch(gateway.pid());
            cpu.watch(backend.pid());
            cpu.watch(ProcessHandle.current().pid());
            String loadAtStart = loadAverage();

            List<InetAddress> sources = new ArrayList<>();
            for (int i = 1; i <= 4; i++) {
                sources.add(InetAddress.getByName("127.0.0." + i));
            }
            WebSocketLoad.Opened opened = load.open(new InetSocketAddress("127.0.0.1", port),
                    URI.create("ws://127.0.0.1:" + port + "/ws"), s.idle(), sources);
            if (!opened.errors().isEmpty()) {
                throw new IllegalStateException(opened.errors().size() + " tunnel(s) did not open, e.g. "
                        + opened.errors().get(0));
            }
            long tunnelsBefore = tunnels(adminPort);
            PacedEcho echo = PacedEcho.start(opened.channels(), s.period(), 3);
            Thread.sleep(s.warmup().toMillis());

            long baselineStart = System.nanoTime();
            double busyAtBaselineStart = machineBusy();
            echo.window(1);
            Thread.sleep(s.window().toMillis());
            long baselineEnd = System.nanoTime();
            double busyAtBaselineEnd = machineBusy();
            echo.window(2);
            echo.timeline(Duration.ofMillis(250), (int) (s.window().plus(HANDOVER_TIMEOUT).toMillis() / 250));
            long handoverStart = System.nanoTime();
            Thread.sleep(LEAD.toMillis());

            LocalTime requestedAt = LocalTime.now();
            long requested = System.nanoTime();
            Process upgrade = null;
            CompletableFuture<Long> upgradeReturnedAt = CompletableFuture.completedFuture(0L);
            CompletableFuture<Long> oldExitedAt = gateway.onExit().thenApply(p -> System.nanoTime());
            if (s.method().equals("upgrade")) {
                upgrade = new ProcessBuilder(java, "-jar", s.jar().toString(), "upgrade", "--config", config.toString())
                        .redirectErrorStream(true).redirectOutput(dir.resolve("upgrade.log").toFile()).start();
                started.add(upgrade);
                upgradeReturnedAt = upgrade.onExit().thenApply(p -> System.nanoTime());
            } else {
                new ProcessBuilder("kill", "-USR2", String.valueOf(gateway.pid())).inheritIO().start().waitFor();
            }
            LogFollower.Match launched = gatewayLog.await(STARTED, HANDOVER_TIMEOUT);
            successor = Long.parseLong(launched.group(1));
            Files.writeString(dir.resolve("successor.pid"), String.valueOf(successor));
            cpu.watch(successor);
            LogFollower.Match end = gatewayLog.awaitAny(HANDOVER_TIMEOUT, MOVED, FAILED);
            boolean failed = FAILED.matcher(end.line().text()).find();
            LogFollower.Match tookOver = failed ? null : gatewayLog.awaitAny(HANDOVER_TIMEOUT, TOOK_OVER, FAILED);
            failed |= tookOver == null || FAILED.matcher(tookOver.line().text()).find();
            if (failed) {
                Thread.sleep(3000); // what follows a failure: the successor exiting, tunnels closing
            }
            boolean oldExited = !failed && gateway.waitFor(HANDOVER_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            Integer oldExit = oldExited ? gateway.exitValue() : null;
            long oldExitedNanos = oldExited ? oldExitedAt.get(5, TimeUnit.SECONDS) : 0;
            String upgradeOutput = "";
            Integer upgradeExit = null;
            if (upgrade != null && upgrade.waitFor(failed ? 5 : HANDOVER_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                upgradeExit = upgrade.exitValue();
                upgradeOutput = Files.readString(dir.resolve("upgrade.log")).trim();
            }
            long upgradeReturned = upgradeExit == null ? 0 : upgradeReturnedAt.get(5, TimeUnit.SECONDS);
            // The window runs its full length unless the handover outlasted it (then it ends 2 s after).
            long windowEnd = failed ? System.nanoTime()
                    : Math.max(handoverStart + s.window().toNanos(), System.nanoTime() + 2_000_000_000L);
            sleepUntil(windowEnd);
            long handoverEnd = System.nanoTime();
            double busyAtHandoverEnd = machineBusy();
            // A second baseline, as long as the handover window (which may have outlasted the first): the
            // successor alone, no handover.
            echo.window(3);
            long afterEnd = failed ? handoverEnd : handoverEnd + (handoverEnd - handoverStart);
            sleepUntil(afterEnd);
            echo.window(0);
            double busyAtAfterEnd = machineBusy();
            if (!failed) {
                awaitSecondAdmin(gatewayLog);
            }
            long tunnelsAfter = failed ? tunnelsIfAnswered(adminPort) : tunnels(adminPort);
            List<PacedEcho.TunnelResult> results = echo.stop(Duration.ofSeconds(5));

            HandoverReport.Phases phases = new HandoverReport.Phases(requestedAt, requested, launched,
                    gatewayLog.find(TAKEN_LISTENING), gatewayLog.find(MOVING), failed ? null : end, tookOver,
                    oldExitedNanos, oldExit, upgradeReturned, upgradeExit, upgradeOutput);
            HandoverReport.Windows windows = new HandoverReport.Windows(baselineStart, baselineEnd, handoverStart,
                    handoverEnd, afterEnd);
            HandoverReport report = new HandoverReport(s, phases, windows, tunnelsBefore, tunnelsAfter);
            if (failed) {
                report.failed(Objects.requireNonNull(gatewayLog.find(FAILED)));
            } else {
                report.cpu(cpu, gateway.pid(), successor);
            }
            String markdown = report.pauses(results, echo)
                    .machine(machine(cpu, List.of(ProcessHandle.current().pid(), backend.pid(), gateway.pid(),
                            successor), windows, loadAtStart,
                            new double[] {busyAtBaselineStart, busyAtBaselineEnd, busyAtHandoverEnd, busyAtAfterEnd}))
                    .logLines(gatewayLog.findAll(Pattern.compile("handover:|upgrade:|took over|listening on|"
                            + TROUBLE.pattern())))
                    .markdown();
            opened.closeAll();
            return markdown;
        } finally {
            if (gatewayLog != null) {
                for (LogFollower.Match m : gatewayLog.findAll(STARTED)) {
                    successor = Long.parseLong(m.group(1)); // known even when the run broke off early
                }
                gatewayLog.close();
            }
            if (successor != 0) {
                Files.writeString(dir.resolve("successor.pid"), String.valueOf(successor));
            }
            stopAll(started, dir);
            Runtime.getRuntime().removeShutdownHook(hook);
            System.err.println("logs of this run: " + dir);
        }
    }

    /** Stops the successor (its pid, from the gateway's log, in {@code dir}/successor.pid), then each child. */
    private static void stopAll(List<Process> started, Path dir) {
        try {
            Path pid = dir.resolve("successor.pid");
            if (Files.exists(pid)) {
                ProcessHandle.of(Long.parseLong(Files.readString(pid).trim())).ifPresent(HandoverScenario::stop);
            }
        } catch (IOException | RuntimeException e) {
            System.err.println("successor pid unknown: " + e);
        }
        for (Process p : started) {
            stop(p.toHandle());
        }
    }

    /**
     * The cores kept busy in each window by this run's processes and by all others.
     *
     * @param pids this client, the backend, the old gateway, its successor
     * @param busy the machine's busy CPU-seconds at the start of the baseline, the end of the baseline (the start
     *             of the handover window), the end of the handover window and the end of the second baseline
     */
    private static HandoverReport.Machine machine(CpuSampler cpu, List<Long> pids, HandoverReport.Windows w,
            String loadAtStart, double[] busy) throws IOException {
        long[] at = {w.baselineStart(), w.baselineEnd(), w.handoverEnd(), w.afterEnd()};
        HandoverReport.Load[] loads = new HandoverReport.Load[3];
        for (int i = 0; i < 3; i++) {
            double seconds = Math.max(1e-9, (at[i + 1] - at[i]) / 1e9);
            double ours = 0;
            for (long pid : pids) {
                ours += delta(cpu, pid, at[i], at[i + 1]);
            }
            loads[i] = new HandoverReport.Load(ours / seconds, (busy[i + 1] - busy[i] - ours) / seconds);
        }
        double seconds = w.baselineSeconds();
        return new HandoverReport.Machine(loadAtStart, loadAverage(), loads[0], loads[1], loads[2],
                delta(cpu, pids.get(0), at[0], at[1]) / seconds, delta(cpu, pids.get(1), at[0], at[1]) / seconds,
                delta(cpu, pids.get(2), at[0], at[1]) / seconds,
                delta(cpu, pids.get(3), at[2], at[3]) / Math.max(1e-9, (at[3] - at[2]) / 1e9));
    }

    /** What {@code pid} used from {@code from} to {@code to} (a process started meanwhile: since its start). */
    private static double delta(CpuSampler cpu, long pid, long from, long to) {
        return total(cpu.at(pid, to)) - total(cpu.at(pid, from));
    }

    private static double total(ProcessTree.@Nullable CpuTime time) {
        return time == null ? 0 : time.total();
    }

    /** CPU-seconds the machine's CPUs have been busy so far, all processes (/proc/stat; USER_HZ 100). */
    private static double machineBusy() throws IOException {
        String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
        long busy = 0;
        for (int i = 1; i < Math.min(f.length, 9); i++) {
            if (i != 4 && i != 5) { // idle, iowait
                busy += Long.parseLong(f[i]);
            }
        }
        return busy / 100.0;
    }

    private static String loadAverage() throws IOException {
        String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
        return f[0] + " " + f[1] + " " + f[2];
    }

    /** Waits until the successor serves the admin address (its own "admin on" line, the second in the log). */
    private static void awaitSecondAdmin(LogFollower log) throws InterruptedException, TimeoutException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (log.findAll(ADMIN).size() < 2) {
            if (System.nanoTime() > deadline) {
                throw new TimeoutException("the successor did not start its admin server; log:\n" + log.tail(30));
            }
            Thread.sleep(20);
        }
    }

    private static Process start(List<Process> started, List<String> command, Path log) throws IOException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        started.add(process);
        return process;
    }

    /** SIGTERM (a gateway drains what it still holds, for at most its drain-timeout), then SIGKILL after 40 s. */
    private static void stop(ProcessHandle process) {
        if (!process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            process.onExit().get(40, TimeUnit.SECONDS);
        } catch (Exception e) {
            process.destroyForcibly();
        }
    }

    private static long tunnels(int adminPort) throws IOException, InterruptedException {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + adminPort + "/status")).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
        JsonNode status = new ObjectMapper().readTree(response.body());
        return status.path("connections").path("tunnels").asLong(-1);
    }

    /** The tunnel count on /status, or -1 when no process answers there. */
    private static long tunnelsIfAnswered(int adminPort) throws InterruptedException {
        try {
            return tunnels(adminPort);
        } catch (IOException e) {
            return -1;
        }
    }

    private static long openFilesLimit(long pid) throws IOException {
        Matcher m = Pattern.compile("^Max open files\\s+(\\d+)", Pattern.MULTILINE)
                .matcher(Files.readString(Path.of("/proc", String.valueOf(pid), "limits")));
        return m.find() ? Long.parseLong(m.group(1)) : Long.MAX_VALUE;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static void sleepUntil(long nanoTime) throws InterruptedException {
        long sleep = nanoTime - System.nanoTime();
        if (sleep > 0) {
            TimeUnit.NANOSECONDS.sleep(sleep);
        }
    }

    static @Nullable Duration stamped(LocalTime from, LogFollower.Match to) {
        LocalTime at = to.line().stamped();
        return at == null ? null : LogFollower.between(from, at);
    }
}
