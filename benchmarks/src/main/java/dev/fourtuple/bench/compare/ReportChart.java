package dev.fourtuple.bench.compare;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;

/**
 * The PNG beside a report, plaintext figures of the proxies (not "no proxy"), one bar per proxy and figure (the
 * median over the runs when there are several): memory per idle tunnel; work per proxy CPU-second; HTTP t2 c200
 * proxy CPU-seconds per million requests; WebSocket connects/s cold and warm.
 */
final class ReportChart {
    private final List<Run> runs;

    ReportChart(List<Run> runs) {
        this.runs = runs;
    }

    void write(Path png) throws IOException {
        List<String> names = runs.get(0).proxied().stream().map(Row::proxy).toList();
        String over = runs.size() > 1 ? ", median of " + runs.size() + " runs" : "";
        CategoryChart memory = chart("Memory per idle WebSocket tunnel (KB, lower is better" + over + ")");
        memory.addSeries("proxy process (PSS)", names, series(names, (run, r) -> Run.memoryPerTunnel(r.idle()) / 1000));
        memory.addSeries("kernel (proxy's share)", names, series(names, (run, r) -> run.kernelShare(r.idle()) / 1000));
        CategoryChart work = chart("Work per proxy CPU-second (thousands, higher is better" + over + ")");
        work.addSeries("echo messages", names, series(names, (run, r) -> r.echo().messagesPerCpuSecond() / 1000));
        work.addSeries("HTTP t2 c200 requests", names,
                series(names, (run, r) -> r.httpT2C200().requestsPerCpuSecond() / 1000));
        work.addSeries("HTTP t1 c64 requests", names,
                series(names, (run, r) -> r.httpT1C64().requestsPerCpuSecond() / 1000));
        CategoryChart http = chart("HTTP t2 c200: proxy CPU-s per 1M requests (lower is better" + over + ")");
        http.addSeries("CPU-s per 1M requests", names,
                series(names, (run, r) -> Report.perMillion(r.httpT2C200().cpu(), r.httpT2C200().requests())));
        CategoryChart connects = chart("WebSocket connects/s (higher is better" + over + ")");
        connects.addSeries("cold (right after start)", names, series(names, (run, r) -> r.coldConnects().perSecond()));
        connects.addSeries("warm", names, series(names, (run, r) -> r.warmConnects().perSecond()));
        List<Chart<?, ?>> charts = List.of(memory, work, http, connects);
        BitmapEncoder.saveBitmap(charts, 2, 2, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static CategoryChart chart(String title) {
        CategoryChart chart = new CategoryChartBuilder().width(600).height(420).title(title).build();
        chart.getStyler().setLegendVisible(true);
        return chart;
    }

    /** A figure of one proxy in one run (the run for figures read against its no-proxy row). */
    private interface Value {
        double of(Run run, Row row);
    }

    /** Per proxy, the median over the runs that have it (0 for none, so the bar is simply missing). */
    private List<Double> series(List<String> names, Value value) {
        return names.stream().map(name -> Ranges.median(runs.stream()
                .flatMap(run -> run.row(name).map(r -> value.of(run, r)).stream())
                .map(v -> Double.isNaN(v) ? 0.0 : v).toList())).toList();
    }
}
