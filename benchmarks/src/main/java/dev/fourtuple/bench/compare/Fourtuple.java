package dev.fourtuple.bench.compare;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The gateway as its service runs it: {@code java JVM_OPTIONS -jar fourtuple.jar run --config FILE}, with the
 * admin server on for its heap and direct-memory meters; one cluster of the run's backends (round robin, the
 * default), upstream connections from the run's upstream source IPs.
 *
 * @param name       the row name ("fourtuple", or a label for a JVM variant)
 * @param java       the java executable
 * @param jvmOptions JVM options, as in the systemd environment file
 * @param jar        fourtuple.jar
 * @param adminPort  the admin server's port
 * @param config     extra config lines (HOCON) after the benchmark's own, e.g. {@code transport = io_uring}
 */
record Fourtuple(String name, String java, List<String> jvmOptions, Path jar, int adminPort, String config)
        implements Proxy {
    private static final Pattern HEAP = Pattern.compile("^jvm_memory_used_bytes\\{area=\"heap\".*} (\\S+)$",
            Pattern.MULTILINE);
    private static final Pattern DIRECT = Pattern.compile(
            "^netty_allocator_memory_used\\{.*memory_type=\"direct\".*} (\\S+)$", Pattern.MULTILINE);

    @Override
    public Running start(Setup setup) throws Exception {
        Path file = setup.dir().resolve("fourtuple.conf");
        Files.writeString(file, """
                %s
                event-loops = %d
                drain-timeout = 1s
                admin.listen = "127.0.0.1:%d"
                logging.level = warn
                # upstream.keepalive-max-idle as shipped: 32 per (event loop, backend), with 2 loops and 4
                # backends up to 256 idle, above wrk's 200 connections (HAProxy's pool has no limit; nginx
                # keeps "keepalive 64" per worker). 16, nginx's 64 split over 4 backends, made a new backend
                # connection for many requests at c200 (78 CPU-s per 1M requests, one run of 2026-12-02).
                upstream.source-addresses = [%s]
                clusters { bench { backends = [%s] } }
                routes = [ { cluster = bench } ]
                %s
                """.formatted(listen(setup), setup.threads(), adminPort,
                quoted(setup.upstreamSources().stream().map(InetAddress::getHostAddress)),
                quoted(setup.backends().stream().map(b -> b.getHostString() + ":" + b.getPort())), config));
        List<String> command = new ArrayList<>(List.of(java));
        command.addAll(jvmOptions);
        command.addAll(List.of("-jar", jar.toString(), "run", "--config", file.toString()));
        ChildProcess child = ChildProcess.start(command, setup.dir().resolve("fourtuple.log"), setup.listen());
        String version = ChildProcess.output(List.of(java, "-version")).lines().findFirst().orElse("java")
                + " " + String.join(" ", expanded(jvmOptions)) + (config.isBlank() ? "" : "; config: " + config.strip());
        HttpClient http = HttpClient.newHttpClient();
        URI metrics = URI.create("http://127.0.0.1:" + adminPort + "/metrics");
        return new Running() {
            @Override
            public InetSocketAddress address() {
                return setup.listen();
            }

            @Override
            public long pid() {
                return child.pid();
            }

            @Override
            public String version() {
                return "fourtuple on " + version;
            }

            @Override
            public void settle() throws Exception {
                ChildProcess.output(List.of("jcmd", String.valueOf(child.pid()), "GC.run"));
                Thread.sleep(500);
            }

            @Override
            public Map<String, Long> jvmMemory() throws Exception {
                String text = http.send(HttpRequest.newBuilder(metrics).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                Map<String, Long> memory = new LinkedHashMap<>();
                memory.put("heap", sum(HEAP.matcher(text)));
                memory.put("direct", sum(DIRECT.matcher(text)));
                return memory;
            }

            @Override
            public void close() throws Exception {
                child.close();
            }
        };
    }

    /**
     * The listener: plaintext {@code listen}, or one TLS 1.3 listener with the certificate, every other TLS key
     * its default (provider auto = BoringSSL, session tickets with keys the gateway makes, as HAProxy and nginx).
     */
    private static String listen(Setup setup) {
        String address = setup.listen().getHostString() + ":" + setup.listen().getPort();
        Certificate tls = setup.tls();
        if (tls == null) {
            return "listen = \"" + address + "\"";
        }
        return """
                listeners = [ { name = https, listen = "%s", tls {
                  certificates = [ { cert = "%s", key = "%s" } ], protocols = ["%s"] } } ]"""
                .formatted(address, tls.cert().toAbsolutePath(), tls.key().toAbsolutePath(), Certificate.PROTOCOL);
    }

    /** The options as the JVM sees them: an {@code @file} argument replaced by the options in the file. */
    private static List<String> expanded(List<String> options) throws IOException {
        List<String> all = new ArrayList<>();
        for (String option : options) {
            if (!option.startsWith("@")) {
                all.add(option);
                continue;
            }
            for (String line : Files.readAllLines(Path.of(option.substring(1)))) {
                String words = line.replaceFirst("#.*", "").trim();
                if (!words.isEmpty()) {
                    all.addAll(List.of(words.split("\\s+")));
                }
            }
        }
        return all;
    }

    /** {@code "a", "b"}: a HOCON list's items. */
    private static String quoted(Stream<String> items) {
        return items.map(item -> "\"" + item + "\"").collect(Collectors.joining(", "));
    }

    private static long sum(Matcher m) {
        double total = 0;
        while (m.find()) {
            total += Double.parseDouble(m.group(1));
        }
        return Math.round(total);
    }
}
