package dev.fourtuple.bench.compare;

import dev.fourtuple.bench.ConnectLoad;
import dev.fourtuple.bench.KernelMemory;
import dev.fourtuple.bench.ProcessTree;
import dev.fourtuple.bench.TimeWait;
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
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.jspecify.annotations.Nullable;

/**
 * Fourtuple, HAProxy and nginx side by side in one run, on the same machine, backends and load, each with the
 * same number of worker threads; and the same load with no proxy as the baseline. Every proxy balances round
 * robin over the same {@code --backends} echo backends (4, one process each, as users run several); Fourtuple's
 * upstream connections leave from {@code --upstream-sources} source IPs (127.0.0.11 on), HAProxy's and nginx's
 * from the kernel's choice (their defaults). For each proxy, in turn, started afresh:
 * <ol>
 *   <li><b>connects, cold</b>: right after the start, before anything else, {@code --connects} WebSocket
 *       connects ({@link ConnectLoad}: each a new TCP connection, the upgrade, one 64-byte echo, the client's
 *       close; {@value #CONNECT_CONCURRENCY} in flight): connects/s, the proxy's CPU-seconds per 1,000, the
 *       connect time's p50/p99: what a JVM does in its first seconds after a deploy;</li>
 *   <li><b>warm-up</b>, the same for every proxy: tunnels opened and closed, an echo loop, wrk (a JVM compiles
 *       its hot paths in the first tens of seconds; a gateway runs for weeks, so the other figures are the warm
 *       ones, and the warm-up's length is printed with them);</li>
 *   <li><b>idle</b>: once the TIME_WAIT sockets of the parts before have mostly expired (their slab would
 *       otherwise leave the kernel's figure while it is read), N WebSocket tunnels opened from several source
 *       addresses and left idle, in two halves; the proxy's memory (PSS of its process tree; after a full GC for
 *       the JVM, plus its heap and direct memory) before any, after N/2 and after N: growth per tunnel over all
 *       N, and over the second half only (the marginal cost, without one-off first-touch costs); the kernel's
 *       (TCP buffers, slab) per tunnel; the connect rate;</li>
 *   <li><b>echo</b>: C connections, a 64-byte message in flight on each; messages/s, round-trip p50/p99/p99.9,
 *       and the proxy's CPU-seconds in the window;</li>
 *   <li><b>connects, warm</b>: the cold part again;</li>
 *   <li><b>http</b>: wrk keep-alive GETs, the users' shape {@code -t2 -c200} and that of earlier runs
 *       {@code -t1 -c64}; requests/s, p99, the proxy's CPU-seconds.</li>
 * </ol>
 * With {@code --tls on} (the default), each proxy but "no proxy" then runs again, started afresh with a TLS 1.3
 * listener (one ECDSA P-256 certificate for all, made for the run by {@code openssl req}; the backends stay
 * plaintext): the same warm-up over TLS; the idle part over {@code wss://}; <b>handshakes</b>, full and then
 * resumed, back to back ({@link TlsHandshakeLoad}: each a new connection, the handshake, one GET, close), per
 * second and the proxy's CPU-seconds per 1,000; the echo part over {@code wss://}; wrk -t1 -c64 over
 * {@code https://}.
 *
 * <p>With {@code --runs N} all of it runs N times, each proxy started afresh each time, and the report shows each
 * figure as the range over the runs (each ratio computed within its run); the JSON holds every run's figures.
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
 * <p>Writes {@code compare-DATE.md} ({@code compare-tls-DATE.md} with TLS rows; {@code -runsN} added for
 * several runs), {@code .json} and {@code .png} into the output directory and prints the tables.
 *
 * <pre>
 * java -cp CP dev.fourtuple.bench.compare.Comparison --jar gateway/target/fourtuple.jar --out benchmarks/results
 *      [--proxies direct,fourtuple,haproxy,nginx] [--runs 1] [--backends 4] [--upstream-sources 4]
 *      [--connects 8000] [--idle 8000] [--echo-connections 1000] [--echo-seconds 20]
 *      [--http-seconds 10] [--warmup-seconds 30] [--threads 2] [--sources 4] [--jvm "OPTIONS"] [--java PATH]
 *      [--tls on|off] [--handshake-seconds 10]
 *      [--variant "LABEL|JAVA|JVM OPTIONS[|CONFIG]"]...   (extra Fourtuple rows: another JVM, GC, or config
 *      lines such as "transport = io_uring")
 * </pre>
 */
public final class Comparison {
    private static final int FIRST_BACKEND_PORT = 19101;
    private static final InetSocketAddress LISTEN = new InetSocketAddress("127.0.0.1", 18181);
    static final int MESSAGE_BYTES = 64;
    static final String HTTP_PATH = "/status/200";
    /** wrk as earlier runs had it, and the users' shape. */
    private static final WrkShape EARLIER_HTTP = new WrkShape(1, 64);
    private static final WrkShape USERS_HTTP = new WrkShape(2, 200);
    private static final int WARM_TUNNELS = 1000;
    /** Handshakes in flight, as many as wrk's connections. */
    static final int HANDSHAKE_CONCURRENCY = 64;
    /** WebSocket connects in flight, as many as the idle part opens at a time. */
    static final int CONNECT_CONCURRENCY = 256;
    /** Longer than 8,000 connects take at even 100 per second: a bound for a hang, not a pace. */
    private static final Duration CONNECT_LIMIT = Duration.ofSeconds(120);
    /** The most a part waits for the TIME_WAIT sockets before it to expire (Linux keeps them 60 s). */
    private static final Duration TIME_WAIT_LIMIT = Duration.ofSeconds(65);

    private final Options options;
    private final WebSocketLoad load;
    private final ConnectLoad connects;
    private final @Nullable Tls tls;
    private final List<InetSocketAddress> backends;
    private final List<InetAddress> sources = new ArrayList<>();
    private final List<InetAddress> upstreamSources = new ArrayList<>();

    /**
     * The TLS side of a run: the certificate, a client context that never resumes (tunnels, echo, full
     * handshakes) and one that does (resumed handshakes), and the handshake load generator.
     */
    private record Tls(Certificate certificate, SslContext full, SslContext resuming, TlsHandshakeLoad handshakes) {
    }

    /** wrk's {@code -t} and {@code -c}. */
    private record WrkShape(int threads, int connections) {
    }

    private Comparison(Options options, WebSocketLoad load, ConnectLoad connects, @Nullable Tls tls,
            List<InetSocketAddress> backends) throws Exception {
        this.options = options;
        this.load = load;
        this.connects = connects;
        this.tls = tls;
        this.backends = backends;
        for (int i = 1; i <= options.sources(); i++) {
            sources.add(InetAddress.getByName("127.0.0." + i));
        }
        for (int i = 0; i < options.upstreamSources(); i++) {
            upstreamSources.add(InetAddress.getByName("127.0.0." + (11 + i)));
        }
    }

    public static void main(String[] args) throws Exception {
        Options options = Options.parse(args);
        Path work = Files.createTempDirectory("fourtuple-compare");
        List<Run> runs = new ArrayList<>();
        Certificate certificate = options.tls() ? Certificate.generate(work) : null;
        SslContext fullClient = certificate == null ? null : certificate.client(false);
        try (Backends backends = Backends.start(options.java(), options.jar(), FIRST_BACKEND_PORT, options.backends(),
                        work);
                WebSocketLoad load = new WebSocketLoad(options.threads(), fullClient);
                ConnectLoad connects = new ConnectLoad(options.threads(), MESSAGE_BYTES);
                TlsHandshakeLoad handshakes = new TlsHandshakeLoad(options.threads())) {
            Tls tls = certificate == null || fullClient == null ? null
                    : new Tls(certificate, fullClient, certificate.client(true), handshakes);
            Comparison comparison = new Comparison(options, load, connects, tls, backends.addresses());
            for (int run = 1; run <= options.runs(); run++) {
                runs.add(comparison.run(work.resolve("run-" + run), run));
            }
        }
        Report report = new Report(runs, options.describe());
        String stem = (options.tls() ? "compare-tls-" : "compare-") + LocalDate.now()
                + (options.runs() > 1 ? "-runs" + options.runs() : "");
        Files.createDirectories(options.out());
        report.write(options.out().resolve(stem + ".md"), options.out().resolve(stem + ".json"),
                options.out().resolve(stem + ".png"));
        System.out.println(report.markdown());
    }

    /** Every proxy once, plaintext then TLS, each started afresh. */
    private Run run(Path dir, int number) throws Exception {
        List<Row> rows = new ArrayList<>();
        List<TlsRow> tlsRows = new ArrayList<>();
        List<String> tlsFailures = new ArrayList<>();
        String label = options.runs() > 1 ? " (run " + number + " of " + options.runs() + ")" : "";
        for (Proxy proxy : options.proxies()) {
            Path files = Files.createDirectories(dir.resolve(proxy.name().replaceAll("[^A-Za-z0-9_-]", "_")));
            System.err.printf("%s%s: starting (files in %s)%n", proxy.name(), label, files);
            rows.add(measure(proxy, new Proxy.Setup(LISTEN, backends, options.threads(), files, null,
                    upstreamSources)));
        }
        for (Proxy proxy : tls == null ? List.<Proxy>of() : options.proxies()) {
            if (proxy instanceof Direct) {
                continue; // the backends speak no TLS
            }
            Path files = Files.createDirectories(dir.resolve(proxy.name().replaceAll("[^A-Za-z0-9_-]", "_") + "-tls"));
            System.err.printf("%s with TLS%s: starting (files in %s)%n", proxy.name(), label, files);
            try {
                tlsRows.add(measureTls(proxy, new Proxy.Setup(LISTEN, backends, options.threads(), files,
                        tls.certificate(), upstreamSources)));
            } catch (Exception e) {
                // One proxy without a TLS row (say, a gateway build without TLS listeners) keeps the others'.
                String why = String.valueOf(e.getMessage()).lines().findFirst().orElse(e.toString());
                System.err.printf("%s with TLS: no row: %s%n", proxy.name(), e);
                tlsFailures.add(proxy.name() + ": " + why);
            }
        }
        return new Run(rows, tlsRows, tlsFailures);
    }

    private Row measure(Proxy proxy, Proxy.Setup setup) throws Exception {
        try (Proxy.Running running = proxy.start(setup)) {
            URI ws = URI.create("ws://" + setup.listen().getHostString() + ":" + running.address().getPort() + "/ws");
            String url = "http://127.0.0.1:" + running.address().getPort() + HTTP_PATH;
            Row.Connects cold = connects(running, ws);
            System.err.printf("%s: connects, cold %s%n", proxy.name(), cold);
            warmUp(running, ws, url);
            awaitTimeWait(running);
            Row.Idle idle = idle(running, ws);
            System.err.printf("%s: idle %s%n", proxy.name(), idle);
            Row.Echo echo = echo(running, ws);
            System.err.printf("%s: echo %s%n", proxy.name(), echo);
            Row.Connects warm = connects(running, ws);
            System.err.printf("%s: connects, warm %s%n", proxy.name(), warm);
            Row.Http users = http(running, url, USERS_HTTP);
            System.err.printf("%s: http t2 c200 %s%n", proxy.name(), users);
            Row.Http earlier = http(running, url, EARLIER_HTTP);
            System.err.printf("%s: http t1 c64 %s%n", proxy.name(), earlier);
            return new Row(proxy.name(), running.version(), idle, echo, earlier, users, cold, warm);
        }
    }

    /** The same parts over TLS, and the handshakes; the proxy started afresh with a TLS listener. */
    private TlsRow measureTls(Proxy proxy, Proxy.Setup setup) throws Exception {
        Tls tls = java.util.Objects.requireNonNull(this.tls);
        try (Proxy.Running running = proxy.start(setup)) {
            // The name, not the address: SNI and the clients' name check; the socket goes to running.address().
            URI wss = URI.create("wss://" + Certificate.HOST + ":" + running.address().getPort() + "/ws");
            String url = "https://127.0.0.1:" + running.address().getPort() + HTTP_PATH; // wrk checks nothing
            warmUp(running, wss, url);
            for (SslContext client : List.of(tls.full(), tls.resuming())) {
                TlsHandshakeLoad.Run run = tls.handshakes().start(running.address(), Certificate.HOST, client,
                        HTTP_PATH, HANDSHAKE_CONCURRENCY, sources);
                Thread.sleep(options.warmupSeconds() * 100L);
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
            Row.Http http = http(running, url, EARLIER_HTTP);
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
                Certificate.HOST, client, HTTP_PATH, HANDSHAKE_CONCURRENCY, sources);
        Thread.sleep(2000);
        run.window();
        ProcessTree.CpuTime cpuBefore = cpu(running);
        long start = System.nanoTime();
        Thread.sleep(options.handshakeSeconds() * 1000L);
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
        Thread.sleep(options.warmupSeconds() * 500L);
        run.stop(Duration.ofSeconds(10));
        warm.closeAll();
        Wrk.run(url, EARLIER_HTTP.threads(), EARLIER_HTTP.connections(),
                Duration.ofSeconds(Math.max(1, options.warmupSeconds() / 2)));
        Thread.sleep(1000);
    }

    private Row.Idle idle(Proxy.Running running, URI ws) throws Exception {
        Memory before = memory(running);
        WebSocketLoad.Opened first = load.open(running.address(), ws, options.idle() / 2, sources);
        Thread.sleep(2000);
        Memory half = memory(running);
        WebSocketLoad.Opened second = load.open(running.address(), ws, options.idle() - options.idle() / 2, sources);
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
        WebSocketLoad.Opened opened = load.open(running.address(), ws, options.echoConnections(), sources);
        WebSocketLoad.EchoRun run = load.echo(opened.channels(), MESSAGE_BYTES);
        Thread.sleep(3000);
        run.window();
        ProcessTree.CpuTime cpuBefore = cpu(running);
        long start = System.nanoTime();
        Thread.sleep(options.echoSeconds() * 1000L);
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

    private Row.Http http(Proxy.Running running, String url, WrkShape shape) throws Exception {
        Wrk.run(url, shape.threads(), shape.connections(), Duration.ofSeconds(3));
        ProcessTree.CpuTime cpuBefore = cpu(running);
        Wrk wrk = Wrk.run(url, shape.threads(), shape.connections(), Duration.ofSeconds(options.httpSeconds()));
        ProcessTree.CpuTime cpu = cpu(running).minus(cpuBefore);
        return new Row.Http(wrk.requestsPerSecond(), wrk.p99Millis(), wrk.requests(), cpu, wrk.errors());
    }

    /**
     * {@code --connects} WebSocket connects, {@value #CONNECT_CONCURRENCY} in flight, and the proxy's CPU over
     * them; then the TIME_WAIT sockets they added on the proxy's listening port (none if the client closes first).
     */
    private Row.Connects connects(Proxy.Running running, URI ws) throws Exception {
        int timeWaitBefore = TimeWait.onLocalPort(running.address().getPort());
        ProcessTree.CpuTime cpuBefore = cpu(running);
        ConnectLoad.Result result = connects.run(running.address(), ws, options.connects(), CONNECT_CONCURRENCY,
                sources, CONNECT_LIMIT);
        ProcessTree.CpuTime cpu = cpu(running).minus(cpuBefore);
        int timeWait = Math.max(0, TimeWait.onLocalPort(running.address().getPort()) - timeWaitBefore);
        if (result.errors() > 0 || !result.finished()) {
            System.err.printf("%d of %d connects failed%s, first: %s%n", result.errors(), result.attempted(),
                    result.finished() ? "" : " (stopped at the time limit)", result.errorKinds());
        }
        Thread.sleep(1000);
        return new Row.Connects(CONNECT_CONCURRENCY, result.attempted(), result.completed(), result.errors(),
                result.took().toNanos() / 1e9, result.times().getValueAtPercentile(50) / 1e6,
                result.times().getValueAtPercentile(99) / 1e6, cpu, timeWait, result.errorKinds());
    }

    /**
     * Waits (at most {@link #TIME_WAIT_LIMIT}) until the TIME_WAIT sockets on the listener's and the backends'
     * ports are down to one per ten idle tunnels (some 30 bytes of slab per tunnel): the connects and the warm-up
     * leave thousands, and as they expire their slab leaves the kernel's figure of the idle part.
     */
    private void awaitTimeWait(Proxy.Running running) throws Exception {
        List<Integer> ports = new ArrayList<>(List.of(running.address().getPort()));
        backends.forEach(b -> ports.add(b.getPort()));
        int few = Math.max(200, options.idle() / 10);
        long start = System.nanoTime();
        int left = TimeWait.involving(ports);
        while (left > few && System.nanoTime() - start < TIME_WAIT_LIMIT.toNanos()) {
            Thread.sleep(1000);
            left = TimeWait.involving(ports);
        }
        System.err.printf("TIME_WAIT: %d left after %.0f s%n", left, (System.nanoTime() - start) / 1e9);
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
}
