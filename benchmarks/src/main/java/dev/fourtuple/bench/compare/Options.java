package dev.fourtuple.bench.compare;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link Comparison}'s command line.
 *
 * @param runs            how many times the whole comparison runs (each proxy started afresh each time)
 * @param backends        echo backends, each its own process, every proxy balancing over all of them
 * @param upstreamSources source IPs for Fourtuple's upstream connections (127.0.0.11 on; 0: the kernel's choice)
 * @param connects        WebSocket connects per connect measurement (cold and warm)
 */
record Options(Path jar, Path out, List<String> proxyNames, int idle, int echoConnections, int echoSeconds,
        int httpSeconds, int warmupSeconds, int threads, int sources, String java, List<String> jvm,
        List<String> variants, boolean tls, int handshakeSeconds, int runs, int backends, int upstreamSources,
        int connects) {
    /** The most idle tunnels one run may hold: the proxy needs two descriptors per tunnel, under 20,000. */
    static final int MAX_IDLE = 9_500;
    static final int ADMIN_PORT = 18182;

    static Options parse(String[] args) {
        Map<String, String> values = new LinkedHashMap<>();
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
                number(values, "idle", 8000), number(values, "echo-connections", 1000),
                number(values, "echo-seconds", 20), number(values, "http-seconds", 10),
                number(values, "warmup-seconds", 30), number(values, "threads", 2), number(values, "sources", 4),
                values.getOrDefault("java", Path.of(System.getProperty("java.home"), "bin", "java").toString()),
                split(values.getOrDefault("jvm", "")), variants, onOff(values.getOrDefault("tls", "on")),
                number(values, "handshake-seconds", 10), number(values, "runs", 1), number(values, "backends", 4),
                number(values, "upstream-sources", 4), number(values, "connects", 8000));
        if (o.idle > MAX_IDLE) {
            throw new IllegalArgumentException("--idle " + o.idle + ": at most " + MAX_IDLE
                    + " (the proxy holds two descriptors per tunnel, and this machine allows 20,000 per process)");
        }
        if (o.runs < 1 || o.backends < 1 || o.upstreamSources < 0 || o.upstreamSources > 200) {
            throw new IllegalArgumentException("--runs " + o.runs + ", --backends " + o.backends
                    + ", --upstream-sources " + o.upstreamSources
                    + " (expected: at least 1 run and 1 backend, 0..200 upstream sources)");
        }
        return o;
    }

    private static int number(Map<String, String> values, String key, int fallback) {
        return Integer.parseInt(values.getOrDefault(key, String.valueOf(fallback)));
    }

    private static boolean onOff(String value) {
        return switch (value) {
            case "on", "1", "true" -> true;
            case "off", "0", "false" -> false;
            default -> throw new IllegalArgumentException("--tls " + value + " (expected: on or off)");
        };
    }

    static List<String> split(String words) {
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

    /** The setup in one sentence, for the report's footer. */
    String describe() {
        return ("%d backends (round robin), Fourtuple's upstream from %d source IPs, HAProxy's and nginx's from the"
                + " kernel's choice; ").formatted(backends, upstreamSources)
                + "connects: %d cold (right after the start) and %d warm, %d in flight; "
                .formatted(connects, connects, Comparison.CONNECT_CONCURRENCY)
                + "warm-up %d s per proxy; %d idle tunnels; echo: %d connections x %d-byte messages, one in flight each, %d s; "
                .formatted(warmupSeconds, idle, echoConnections, Comparison.MESSAGE_BYTES, echoSeconds)
                + "http: wrk -t2 -c200 and wrk -t1 -c64, -d%ds each, GET %s; %d worker threads per proxy; clients from %d source addresses"
                .formatted(httpSeconds, Comparison.HTTP_PATH, threads, sources)
                + (tls ? "; TLS rows: %d handshakes in flight, %d s each (full, resumed), after %d s of each in the warm-up"
                .formatted(Comparison.HANDSHAKE_CONCURRENCY, handshakeSeconds, warmupSeconds / 10) : "")
                + (runs > 1 ? "; %d runs".formatted(runs) : "");
    }
}
