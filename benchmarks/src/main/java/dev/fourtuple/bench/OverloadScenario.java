package dev.fourtuple.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fourtuple.gateway.demo.EchoBackend;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.channel.Channel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.HdrHistogram.Histogram;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;

/**
 * The overload scenario: the gateway (a child process, {@code java -jar fourtuple.jar run}) under a small fd
 * limit; WebSocket clients ramp up to twice what that limit allows; every admitted tunnel keeps echoing a
 * small message. Per second it records tunnels admitted, refused (503 or reset) and the p50/p99 echo latency
 * of the admitted ones, then writes JSON and a PNG chart.
 *
 * <pre>
 * java -cp CLASSPATH dev.fourtuple.bench.OverloadScenario --jar gateway/target/fourtuple.jar --fds 2000
 *      --seconds 30 --out benchmarks/results/overload
 * </pre>
 */
public final class OverloadScenario {
    private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");
    private static final int SLICES = 10;
    private static final Pattern ROOM = Pattern.compile("room for about (\\d+) proxied connections");

    private OverloadScenario() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            options.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        Path jar = Path.of(options.getOrDefault("jar", "gateway/target/fourtuple.jar"));
        int fds = Integer.parseInt(options.getOrDefault("fds", "2000"));
        int seconds = Integer.parseInt(options.getOrDefault("seconds", "30"));
        Path out = Path.of(options.getOrDefault("out", "benchmarks/results/overload"));
        Files.createDirectories(out.getParent());

        try (EchoBackend backend = EchoBackend.start(new InetSocketAddress("127.0.0.1", 0), "b", TransportKind.EPOLL, 1)) {
            Path dir = Files.createTempDirectory("overload");
            Path config = dir.resolve("gateway.conf");
            Files.writeString(config, "listen = \"127.0.0.1:0\"\ntransport = epoll\nevent-loops = 2\n"
                    + "clusters { c { backends = [\"127.0.0.1:" + backend.address().getPort() + "\"] } }\n"
                    + "routes = [ { cluster = c } ]\n");
            Path log = dir.resolve("gateway.log");
            Process gateway = new ProcessBuilder("bash", "-c", "ulimit -n " + fds + " && exec \"$@\"", "bash",
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xms256m", "-Xmx256m",
                    "-jar", jar.toString(), "run", "--config", config.toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            try {
                int port = await(log, LISTENING);
                int room = await(log, ROOM);
                Map<String, Object> result = run(port, room, seconds);
                result.put("fdLimit", fds);
                result.put("room", room);
                result.put("gatewayLogTooManyOpenFiles", Files.readString(log).contains("Too many open files"));
                new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(out.resolveSibling(out.getFileName() + ".json").toFile(), result);
                chart(result, out.resolveSibling(out.getFileName() + ".png"));
                System.out.println("RESULT " + new ObjectMapper().writeValueAsString(summary(result)));
            } finally {
                gateway.destroy();
                gateway.waitFor(20, TimeUnit.SECONDS);
                gateway.destroyForcibly();
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> run(int port, int room, int seconds) throws Exception {
        InetSocketAddress gateway = new InetSocketAddress("127.0.0.1", port);
        URI uri = URI.create("ws://127.0.0.1:" + port + "/ws");
        int target = 2 * room;
        int perSecond = Math.max(1, target * 2 / seconds); // reach 2x the room in half the run, then hold
        List<Channel> open = new ArrayList<>();
        List<Map<String, Object>> timeline = new ArrayList<>();
        int refused = 0;
        int attempted = 0;
        long start = System.nanoTime();
        try (TunnelClients clients = new TunnelClients(TransportKind.EPOLL, 2)) {
            for (int second = 1; second <= seconds; second++) {
                long secondStart = System.nanoTime();
                Histogram latency = new Histogram(TimeUnit.SECONDS.toNanos(10), 2);
                List<CompletableFuture<TunnelClients.Outcome>> pending = new ArrayList<>();
                List<CompletableFuture<Long>> echoes = new ArrayList<>();
                // Ten slices a second: new clients and echoes are spread out, so latency is per message, not
                // the queue of a once-a-second burst.
                for (int slice = 0; slice < SLICES; slice++) {
                    long sliceStart = secondStart + slice * TimeUnit.SECONDS.toNanos(1) / SLICES;
                    sleepUntil(sliceStart);
                    for (int i = 0; i < perSecond / SLICES && attempted < target; i++, attempted++) {
                        pending.add(clients.open(gateway, uri, null, Duration.ofSeconds(5)));
                    }
                    for (int i = slice; i < open.size(); i += SLICES) {
                        long sent = System.nanoTime();
                        echoes.add(TunnelClients.echo(open.get(i), "t" + second, Duration.ofSeconds(5))
                                .thenApply(ok -> ok ? System.nanoTime() - sent : -1L));
                    }
                }
                for (CompletableFuture<TunnelClients.Outcome> future : pending) {
                    TunnelClients.Outcome outcome = future.get(10, TimeUnit.SECONDS);
                    if (outcome.status() == TunnelClients.Status.OPEN) {
                        open.add(outcome.channel());
                    } else {
                        refused++;
                    }
                }
                int lost = 0;
                for (CompletableFuture<Long> echo : echoes) {
                    long nanos = echo.get(10, TimeUnit.SECONDS);
                    if (nanos < 0) {
                        lost++;
                    } else {
                        latency.recordValue(nanos);
                    }
                }
                Map<String, Object> point = new LinkedHashMap<>();
                point.put("second", second);
                point.put("admitted", open.size());
                point.put("refused", refused);
                point.put("echoes", latency.getTotalCount());
                point.put("echoesLost", lost);
                point.put("p50ms", latency.getTotalCount() == 0 ? 0 : latency.getValueAtPercentile(50) / 1e6);
                point.put("p99ms", latency.getTotalCount() == 0 ? 0 : latency.getValueAtPercentile(99) / 1e6);
                timeline.add(point);
                sleepUntil(secondStart + TimeUnit.SECONDS.toNanos(1));
            }
            open.forEach(Channel::close);
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("attempted", attempted);
        result.put("admitted", open.size());
        result.put("refused", refused);
        result.put("seconds", (System.nanoTime() - start) / 1e9);
        result.put("timeline", timeline);
        return result;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> summary(Map<String, Object> result) {
        Map<String, Object> summary = new LinkedHashMap<>(result);
        List<Map<String, Object>> timeline = (List<Map<String, Object>>) summary.remove("timeline");
        double worst = 0;
        double first = -1;
        long lost = 0;
        for (Map<String, Object> point : timeline) {
            double p99 = (double) point.get("p99ms");
            worst = Math.max(worst, p99);
            if (first < 0 && (long) point.get("echoes") > 0) {
                first = p99;
            }
            lost += ((Number) point.get("echoesLost")).longValue();
        }
        summary.put("p99msFirstSecondWithEchoes", first);
        summary.put("p99msWorstSecond", worst);
        summary.put("echoesLost", lost);
        return summary;
    }

    @SuppressWarnings("unchecked")
    private static void chart(Map<String, Object> result, Path png) throws IOException {
        List<Map<String, Object>> timeline = (List<Map<String, Object>>) result.get("timeline");
        double[] t = new double[timeline.size()];
        double[] admitted = new double[t.length];
        double[] refused = new double[t.length];
        double[] p99 = new double[t.length];
        for (int i = 0; i < t.length; i++) {
            Map<String, Object> point = timeline.get(i);
            t[i] = ((Number) point.get("second")).doubleValue();
            admitted[i] = ((Number) point.get("admitted")).doubleValue();
            refused[i] = ((Number) point.get("refused")).doubleValue();
            p99[i] = ((Number) point.get("p99ms")).doubleValue();
        }
        XYChart chart = new XYChartBuilder().width(900).height(500)
                .title("Overload: fd limit " + result.get("fdLimit") + ", clients ramped to 2x the room ("
                        + result.get("room") + ")")
                .xAxisTitle("seconds").yAxisTitle("tunnels").build();
        chart.addSeries("admitted (open tunnels)", t, admitted).setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        chart.addSeries("refused (cumulative)", t, refused).setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        XYSeries latency = chart.addSeries("p99 echo latency of admitted (ms, right axis)", t, p99);
        latency.setYAxisGroup(1);
        chart.setYAxisGroupTitle(1, "p99 ms");
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static void sleepUntil(long nanoTime) throws InterruptedException {
        long sleep = nanoTime - System.nanoTime();
        if (sleep > 0) {
            TimeUnit.NANOSECONDS.sleep(sleep);
        }
    }

    private static int await(Path log, Pattern pattern) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (Files.exists(log)) {
                Matcher m = pattern.matcher(Files.readString(log));
                if (m.find()) {
                    return Integer.parseInt(m.group(1));
                }
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("gateway did not start:\n" + (Files.exists(log) ? Files.readString(log) : ""));
    }
}
