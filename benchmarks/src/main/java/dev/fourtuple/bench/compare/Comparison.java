package dev.fourtuple.bench.compare;

import dev.fourtuple.bench.KernelMemory;
import dev.fourtuple.bench.ProcessTree;
import dev.fourtuple.bench.TlsHandshakeLoad;
import dev.fourtuple.bench.WebSocketLoad;
import io.netty.handler.ssl.SslContext;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.jspecify.annotations.Nullable;

/**
 * Fourtuple, HAProxy and nginx side by side in one run, on the same machine, backend and load, each with the
 * same number of worker threads; and the same load with no proxy as the baseline. For each proxy, in turn:
 * <ol>
 *   <li><b>warm-up</b>, the same for every proxy: tunnels opened and closed, an echo loop, wrk (a JVM compiles
 *       its hot paths in the first tens of seconds; a gateway runs for weeks, so the figures are the warm
 *       ones, and the warm-up's length is printed with them);</li>
 *   <li><b>idle</b>: N WebSocket tunnels opened from several source addresses and left idle, in two halves;
 *       the proxy's memory (PSS of its process tree; after a full GC for the JVM, plus its heap and direct
 *       memory) before any, after N/2 and after N: growth per tunnel over all N, and over the second half
 *       only (the marginal cost, without one-off first-touch costs); the kernel's (TCP buffers, slab) per
 *       tunnel; the connect rate;</li>
 *   <li><b>echo</b>: C connections, a 64-byte message in flight on each; messages/s, round-trip p50/p99/p99.9,
 *       and the proxy's CPU-seconds in the window;</li>
 *   <li><b>http</b>: wrk keep-alive GETs; requests/s, p99, the proxy's CPU-seconds.</li>
 * </ol>
 * With {@code --tls on} (the default), each proxy but "no proxy" then runs again, started afresh with a TLS 1.3
 * listener (one ECDSA P-256 certificate for all, made for the run by {@code openssl req}; the backend stays
 * plaintext): the same warm-up over TLS; the idle part over {@code wss://}; <b>handshakes</b>, full and then
 * resumed, back to back ({@link TlsHandshakeLoad}: each a new connection, the handshake, one GET, close), per
 * second and the proxy's CPU-seconds per 1,000; the echo part over {@code wss://}; wrk over {@code https://}.
 *
 * <p>How the handshakes are driven, and why: the client is Netty with BoringSSL (netty-tcnative), so the load
 * generator, on the same two cores as the proxy, costs as little as a client can and the same for every proxy;
 * what is read is the proxy's own CPU time (its process tree, /proc), so the client's cost is not in the
 * figure either way. Full: the client's session cache is off, so every connection is a full handshake (the
 * proxy's ECDHE and its P-256 signature). Resumed: one client context whose session cache keeps the tickets
 * the proxy sent (TLS 1.3 sends them after the handshake, so each connection reads one response before it
 * closes) and offers one on the next connection: a PSK handshake with (EC)DHE (psk_dhe_ke, the only mode
 * BoringSSL and OpenSSL clients offer), no certificate and no signature. How many really resumed is read from
 * each engine and printed; a proxy that resumed fewer is not flattered by it. {@code openssl s_time} was not
 * used: one connection at a time, and in TLS 1.3 it offers the first session's ticket again and again, which
 * a server may refuse; h2load resumes nothing.
 *
 * <p>Writes {@code compare-DATE.md} ({@code compare-tls-DATE.md} with TLS rows), {@code .json} and {@code .png}
 * into the output directory and prints the tables.
 *
 * <pre>
 * java -cp CP dev.fourtuple.bench.compare.Comparison --jar gateway/target/fourtuple.jar --out benchmarks/results
 *      [--proxies direct,fourtuple,haproxy,nginx] [--idle 8000] [--echo-connections 1000] [--echo-seconds 20]
 *      [--http-seconds 10] [--warmup-seconds 30] [--threads 2] [--sources 4] [--jvm "OPTIONS"] [--java PATH]
 *      [--tls on|off] [--handshake-seconds 10]
 *      [--variant "LABEL|JAVA|JVM OPTIONS[|CONFIG]"]...   (extra Fourtuple rows: another JVM, GC, or config
 *      lines such as "transport = io_uring")
 * </pre>
 */
public final class Comparison {
    private static final InetSocketAddress BACKEND = new InetSocketAddress("127.0.0.1", 19101);
    private static final InetSocketAddress LISTEN = new InetSocketAddress("127.0.0.1", 18181);
    private static final int ADMIN_PORT = 18182;
    /** The most idle tunnels one run may hold: the proxy needs two descriptors per tunnel, under 20,000. */
    private static final int MAX_IDLE = 9_500;
    private static final int MESSAGE_BYTES = 64;
    private static final int WRK_CONNECTIONS = 64;
    private static final int WARM_TUNNELS = 1000;
    /** Handshakes in flight, as many as wrk's connections. */
    private static final int HANDSHAKE_CONCURRENCY = 64;
    private static final String HANDSHAKE_PATH = "/status/200";

    private final Options options;
    private final WebSocketLoad load;
    private final @Nullable Tls tls;
    private final List<InetAddress> sources = new ArrayList<>();

    /**
     * The TLS side of a run: the certificate, a client context that never resumes (tunnels, echo, full
     * handshakes) and one that does (resumed handshakes), and the handshake load generator.
     */
    private record Tls(Certificate certificate, SslContext full, SslContext resuming, TlsHandshakeLoad handshakes) {
    }

    private Comparison(Options options, WebSocketLoad load, @Nullable Tls tls) throws Exception {
        this.options = options;
        this.load = load;
        this.tls = tls;
        for (int i = 1; i <= options.sources; i++) {
            sources.add(InetAddress.getByName("127.0.0." + i));
        }
    }

    public static void main(String[] args) throws Exception {
        Options options = Options.parse(args);
        Path work = Files.createTempDirectory("fourtuple-compare");
        List<Row> rows = new ArrayList<>();
        List<TlsRow> tlsRows = new ArrayList<>();
        List<String> tlsFailures = new ArrayList<>();
        Certificate certificate = options.tls ? Certificate.generate(work) : null;
        SslContext fullClient = certificate == null ? null : certificate.client(false);
        List<String> backendCommand = List.of(options.java, "-Xms256m", "-Xmx512m", "-jar", options.jar.toString(),
                "echo-backend", "127.0.0.1:" + BACKEND.getPort(), "bench");
        try (ChildProcess backend = ChildProcess.start(backendCommand, work.resolve("backend.log"), BACKEND);
                WebSocketLoad load = new WebSocketLoad(options.threads, fullClient);
                TlsHandshakeLoad handshakes = new TlsHandshakeLoad(options.threads)) {
            Tls tls = certificate == null || fullClient == null ? null
                    : new Tls(certificate, fullClient, certificate.client(true), handshakes);
            Comparison comparison = new Comparison(options, load, tls);
            for (Proxy proxy : options.proxies()) {
                Path dir = Files.createDirectories(work.resolve(proxy.name().replaceAll("[^A-Za-z0-9_-]", "_")));
                System.err.printf("%s: starting (files in %s)%n", proxy.name(), dir);
                rows.add(comparison.measure(proxy, new Proxy.Setup(LISTEN, BACKEND, options.threads, dir, null)));
            }
            for (Proxy proxy : tls == null ? List.<Proxy>of() : options.proxies()) {
                if (proxy instanceof Direct) {
                    continue; // the backend speaks no TLS
                }
                Path dir = Files.createDirectories(work.resolve(proxy.name().replaceAll("[^A-Za-z0-9_-]", "_") + "-tls"));
                System.err.printf("%s with TLS: starting (files in %s)%n", proxy.name(), dir);
                try {
                    tlsRows.add(comparison.measureTls(proxy,
                            new Proxy.Setup(LISTEN, BACKEND, options.threads, dir, tls.certificate())));
                } catch (Exception e) {
                    // One proxy without a TLS row (say, a gateway build without TLS listeners) keeps the others'.
                    String why = String.valueOf(e.getMessage()).lines().findFirst().orElse(e.toString());
                    System.err.printf("%s with TLS: no row: %s%n", proxy.name(), e);
                    tlsFailures.add(proxy.name() + ": " + why);
                }
            }
        }
        Report report = new Report(rows, tlsRows, tlsFailures, options.describe());
        String stem = (options.tls ? "compare-tls-" : "compare-") + LocalDate.now();
        Files.createDirectories(options.out);
        report.write(options.out.resolve(stem + ".md"), options.out.resolve(stem + ".json"),
                options.out.resolve(stem + ".png"));
        System.out.println(report.markdown());
    }

    private Row measure(Proxy proxy, Proxy.Setup setup) throws Exception {
        try (Proxy.Running running = proxy.start(setup)) {
            URI ws = URI.create("ws://" + setup.listen().getHostString() + ":" + running.address().getPort() + "/ws");
            String url = "http://127.0.0.1:" + running.address().getPort() + HANDSHAKE_PATH;
            warmUp(running, ws, url);
            Row.Idle idle = idle(running, ws);
            System.err.printf("%s: idle %s%n", proxy.name(), idle);
            Row.Echo echo = echo(running, ws);
            System.err.printf("%s: echo %s%n", proxy.name(), echo);
            Row.Http http = http(running, url);
            System.err.printf("%s: http %s%n", proxy.name(), http);
            return new Row(proxy.name(), running.version(), idle, echo, http);
        }
    }

    /** The same parts over TLS, and the handshakes; the proxy started afresh with a TLS listener. */
    private TlsRow measureTls(Proxy proxy, Proxy.Setup setup) throws Exception {
        Tls tls = java.util.Objects.requireNonNull(this.tls);
        try (Proxy.Running running = proxy.start(setup)) {
            // The name, not the address: SNI and the clients' name check; the socket goes to running.address().
            URI wss = URI.create("wss://" + Certificate.HOST + ":" + running.address().getPort() + "/ws");
            String url = "https://127.0.0.1:" + running.address().getPort() + HANDSHAKE_PATH; // wrk checks nothing
            warmUp(running, wss, url);
            for (SslContext client : List.of(tls.full(), tls.resuming())) {
                TlsHandshakeLoad.Run run = tls.handshakes().start(running.address(), Certificate.HOST, client,
                        HANDSHAKE_PATH, HANDSHAKE_CONCURRENCY, sources);
                Thread.sleep(options.warmupSeconds * 100L);
                run.stop(Duration.ofSeconds(10));
            }
            Thread.sleep(1000);
            Row.Idle idle = idle(running, wss);
            System.err.printf("%s with TLS: idle %s%n", proxy.name(), idle);
            TlsRow.Handshakes full = handshakes(running, tls.full());
            System.err.printf("%s with TLS: full handshakes %s%n", proxy.name(), full);
            TlsRow.Handshakes resumed = handshakes(running, tls.resuming());
            System.err.printf("%s with TLS: resumed handshakes %s%n", proxy.name(), resumed);
            Row.Echo echo = echo(running, wss);
            System.err.printf("%s with TLS: echo %s%n", proxy.name(), echo);
            Row.Http http = http(running, url);
            System.err.printf("%s with TLS: http %s%n", proxy.name(), http);
            if (idle.tunnels() == 0 || full.handshakes() == 0) {
                throw new IllegalStateException("no TLS connection succeeded (" + idle.tunnels() + " tunnels, "
                        + full.handshakes() + " handshakes; see " + setup.dir() + ")");
            }
            return new TlsRow(proxy.name(), running.version(), idle, full, resumed, echo, http);
        }
    }

    /** Handshakes back to back: 2 s to settle (and, resuming, to collect tickets), then the measured window. */
    private TlsRow.Handshakes handshakes(Proxy.Running running, SslContext client) throws Exception {
        TlsHandshakeLoad.Run run = java.util.Objects.requireNonNull(tls).handshakes().start(running.address(),
                Certificate.HOST, client, HANDSHAKE_PATH, HANDSHAKE_CONCURRENCY, sources);
        Thread.sleep(2000);
        run.window();
        ProcessTree.CpuTime cpuBefore = cpu(running);
        long start = System.nanoTime();
        Thread.sleep(options.handshakeSeconds * 1000L);
        TlsHandshakeLoad.Counts counts = run.window();
        ProcessTree.CpuTime cpu = cpu(running).minus(cpuBefore);
        double seconds = (System.nanoTime() - start) / 1e9;
        run.stop(Duration.ofSeconds(10));
        Thread.sleep(1000);
        return new TlsRow.Handshakes(HANDSHAKE_CONCURRENCY, seconds, counts.handshakes(), counts.resumed(), cpu,
                counts.errors());
    }

    /**
     * JIT, pools and caches warm in every proxy before anything is measured, with the same load for each:
     * tunnels opened and closed (the handshake path), then half the warm-up in an echo loop, half in wrk.
     */
    private void warmUp(Proxy.Running running, URI ws, String url) throws Exception {
        for (int round = 0; round < 2; round++) {
            load.open(running.address(), ws, WARM_TUNNELS, sources).closeAll();
        }
        WebSocketLoad.Opened warm = load.open(running.address(), ws, WARM_TUNNELS / 2, sources);
        WebSocketLoad.EchoRun run = load.echo(warm.channels(), MESSAGE_BYTES);
        Thread.sleep(options.warmupSeconds * 500L);
        run.stop(Duration.ofSeconds(10));
        warm.closeAll();
        Wrk.run(url, WRK_CONNECTIONS, Duration.ofSeconds(Math.max(1, options.warmupSeconds / 2)));
        Thread.sleep(1000);
    }

    private Row.Idle idle(Proxy.Running running, URI ws) throws Exception {
        Memory before = memory(running);
        WebSocketLoad.Opened first = load.open(running.address(), ws, options.idle / 2, sources);
        Thread.sleep(2000);
        Memory half = memory(running);
        WebSocketLoad.Opened second = load.open(running.address(), ws, options.idle - options.idle / 2, sources);
        Thread.sleep(2000);
        Memory all = memory(running);
        int tunnels = first.channels().size() + second.channels().size();
        int failed = first.errors().size() + second.errors().size();
        if (failed > 0) {
            List<String> errors = new ArrayList<>(first.errors());
            errors.addAll(second.errors());
            System.err.printf("%d tunnels failed to open, first: %s%n", failed, errors.get(0));
        }
        double seconds = (first.took().toNanos() + second.took().toNanos()) / 1e9;
        first.closeAll();
        second.closeAll();
        Thread.sleep(2000);
        KernelMemory kernel = all.kernel().minus(before.kernel());
        return new Row.Idle(tunnels, failed, Math.round(tunnels / seconds), before.pss(), all.pss() - before.pss(),
                second.channels().size(), all.pss() - half.pss(),
                delta(before.jvm(), all.jvm(), "heap"), delta(before.jvm(), all.jvm(), "direct"),
                kernel.tcpBufferBytes(), kernel.slabBytes());
    }

    /** One reading of the proxy's memory and the kernel's, the proxy settled first (a full GC for a JVM). */
    private record Memory(long pss, Map<String, Long> jvm, KernelMemory kernel) {
    }

    private static Memory memory(Proxy.Running running) throws Exception {
        running.settle();
        return new Memory(pss(running), running.jvmMemory(), KernelMemory.now());
    }

    private Row.Echo echo(Proxy.Running running, URI ws) throws Exception {
        WebSocketLoad.Opened opened = load.open(running.address(), ws, options.echoConnections, sources);
        WebSocketLoad.EchoRun run = load.echo(opened.channels(), MESSAGE_BYTES);
        Thread.sleep(3000);
        run.window();
        ProcessTree.CpuTime cpuBefore = cpu(running);
        long start = System.nanoTime();
        Thread.sleep(options.echoSeconds * 1000L);
        Histogram window = run.window();
        ProcessTree.CpuTime cpu = cpu(running).minus(cpuBefore);
        double seconds = (System.nanoTime() - start) / 1e9;
        run.stop(Duration.ofSeconds(10));
        opened.closeAll();
        Thread.sleep(1000);
        return new Row.Echo(opened.channels().size(), seconds, window.getTotalCount(),
                window.getValueAtPercentile(50) / 1e3, window.getValueAtPercentile(99) / 1e3,
                window.getValueAtPercentile(99.9) / 1e3, cpu, run.errors() + opened.errors().size());
    }

    private Row.Http http(Proxy.Running running, String url) throws Exception {
        Wrk.run(url, WRK_CONNECTIONS, Duration.ofSeconds(3));
        ProcessTree.CpuTime cpuBefore = cpu(running);
        Wrk wrk = Wrk.run(url, WRK_CONNECTIONS, Duration.ofSeconds(options.httpSeconds));
        ProcessTree.CpuTime cpu = cpu(running).minus(cpuBefore);
        return new Row.Http(wrk.requestsPerSecond(), wrk.p99Millis(), wrk.requests(), cpu, wrk.errors());
    }

    private static long pss(Proxy.Running running) {
        return running.pid() < 0 ? 0 : ProcessTree.pssBytes(running.pid());
    }

    private static ProcessTree.CpuTime cpu(Proxy.Running running) {
        return running.pid() < 0 ? new ProcessTree.CpuTime(0, 0) : ProcessTree.cpu(running.pid());
    }

    private static @Nullable Long delta(Map<String, Long> before, Map<String, Long> after, String key) {
        return before.containsKey(key) && after.containsKey(key) ? after.get(key) - before.get(key) : null;
    }

    /** The command line. */
    record Options(Path jar, Path out, List<String> proxyNames, int idle, int echoConnections, int echoSeconds,
            int httpSeconds, int warmupSeconds, int threads, int sources, String java, List<String> jvm,
            List<String> variants, boolean tls, int handshakeSeconds) {

        static Options parse(String[] args) {
            java.util.Map<String, String> values = new java.util.LinkedHashMap<>();
            List<String> variants = new ArrayList<>();
            for (int i = 0; i + 1 < args.length; i += 2) {
                String key = args[i].replaceFirst("^--", "");
                if (key.equals("variant")) {
                    variants.add(args[i + 1]);
                } else {
                    values.put(key, args[i + 1]);
                }
            }
            Options o = new Options(Path.of(values.getOrDefault("jar", "gateway/target/fourtuple.jar")),
                    Path.of(values.getOrDefault("out", "benchmarks/results")),
                    List.of(values.getOrDefault("proxies", "direct,fourtuple,haproxy,nginx").split(",")),
                    Integer.parseInt(values.getOrDefault("idle", "8000")),
                    Integer.parseInt(values.getOrDefault("echo-connections", "1000")),
                    Integer.parseInt(values.getOrDefault("echo-seconds", "20")),
                    Integer.parseInt(values.getOrDefault("http-seconds", "10")),
                    Integer.parseInt(values.getOrDefault("warmup-seconds", "30")),
                    Integer.parseInt(values.getOrDefault("threads", "2")),
                    Integer.parseInt(values.getOrDefault("sources", "4")),
                    values.getOrDefault("java", Path.of(System.getProperty("java.home"), "bin", "java").toString()),
                    split(values.getOrDefault("jvm", "")), variants, onOff(values.getOrDefault("tls", "on")),
                    Integer.parseInt(values.getOrDefault("handshake-seconds", "10")));
            if (o.idle > MAX_IDLE) {
                throw new IllegalArgumentException("--idle " + o.idle + ": at most " + MAX_IDLE
                        + " (the proxy holds two descriptors per tunnel, and this machine allows 20,000 per process)");
            }
            return o;
        }

        private static boolean onOff(String value) {
            return switch (value) {
                case "on", "1", "true" -> true;
                case "off", "0", "false" -> false;
                default -> throw new IllegalArgumentException("--tls " + value + " (expected: on or off)");
            };
        }

        private static List<String> split(String words) {
            return words.isBlank() ? List.of() : Arrays.asList(words.trim().split("\\s+"));
        }

        List<Proxy> proxies() {
            List<Proxy> proxies = new ArrayList<>();
            for (String name : proxyNames) {
                switch (name.trim()) {
                    case "direct" -> proxies.add(new Direct());
                    case "haproxy" -> proxies.add(new Haproxy("haproxy"));
                    case "nginx" -> proxies.add(new Nginx("nginx"));
                    case "fourtuple" -> {
                        proxies.add(new Fourtuple("fourtuple", java, jvm, jar, ADMIN_PORT, ""));
                        for (String variant : variants) {
                            String[] parts = variant.split("\\|", 4);
                            if (parts.length < 3) {
                                throw new IllegalArgumentException("--variant " + variant
                                        + ": expected LABEL|JAVA|JVM OPTIONS[|CONFIG]");
                            }
                            proxies.add(new Fourtuple(parts[0], parts[1], split(parts[2]), jar, ADMIN_PORT,
                                    parts.length == 4 ? parts[3] : ""));
                        }
                    }
                    default -> throw new IllegalArgumentException("--proxies: unknown proxy " + name
                            + " (known: direct, fourtuple, haproxy, nginx)");
                }
            }
            return proxies;
        }

        String describe() {
            return "warm-up %d s per proxy; %d idle tunnels; echo: %d connections x %d-byte messages, one in flight each, %d s; "
                    .formatted(warmupSeconds, idle, echoConnections, MESSAGE_BYTES, echoSeconds)
                    + "http: wrk -t1 -c%d -d%ds GET /status/200; %d worker threads per proxy; clients from %d source addresses"
                    .formatted(WRK_CONNECTIONS, httpSeconds, threads, sources)
                    + (tls ? "; TLS rows: %d handshakes in flight, %d s each (full, resumed), after %d s of each in the warm-up"
                    .formatted(HANDSHAKE_CONCURRENCY, handshakeSeconds, warmupSeconds / 10) : "");
        }
    }
}
