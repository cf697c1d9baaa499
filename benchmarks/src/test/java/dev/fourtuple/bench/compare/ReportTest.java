package dev.fourtuple.bench.compare;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fourtuple.bench.ProcessTree;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report's tables from made-up runs: one run's figures as they are, several runs' as ranges. */
class ReportTest {

    @Test
    void oneRunShowsPlainFigures() {
        String md = new Report(List.of(run(1.0)), "setup").markdown();
        assertThat(md).contains("| figure | Fourtuple | HAProxy | nginx | Fourtuple ÷ HAProxy | Fourtuple ÷ nginx |");
        // fourtuple: 20 CPU-s over 1M requests; haproxy 10 (its figure / 2): 20.0, 10.0, ratio 2.00
        assertThat(md).contains("| HTTP proxy CPU-s per 1M requests (t2 c200) | 20.0 | 10.0 | 10.0 | 2.00 | 2.00 |");
        assertThat(md).contains("| WebSocket connects/s cold (first 8,000) | 1000 | 2000 | 2000 | 0.50 | 0.50 |");
        assertThat(md).doesNotContain("–").doesNotContain("runs, each proxy started afresh");
    }

    @Test
    void severalRunsShowRangesAndPerRunRatios() {
        // Run 2 doubles fourtuple's CPU only: its ratio to HAProxy goes 2.00 -> 4.00, HAProxy's figure stays.
        String md = new Report(List.of(run(1.0), run(2.0)), "setup").markdown();
        assertThat(md).startsWith("2 runs, each proxy started afresh");
        assertThat(md).contains("| HTTP proxy CPU-s per 1M requests (t2 c200) | 20.0–40.0 | 10.0 | 10.0 | 2.00–4.00 | 2.00–4.00 |");
        assertThat(md).contains("| memory per idle tunnel (proxy PSS) | 2.0 KB | 4.0 KB | 4.0 KB | 0.50 | 0.50 |");
    }

    @Test
    void jsonKeepsEveryRun(@TempDir Path dir) throws Exception {
        new Report(List.of(run(1.0), run(2.0), run(3.0)), "setup")
                .write(dir.resolve("r.md"), dir.resolve("r.json"), dir.resolve("r.png"));
        JsonNode json = new ObjectMapper().readTree(dir.resolve("r.json").toFile());
        assertThat(json.get("runs")).hasSize(3);
        assertThat(json.get("runs").get(2).get("rows").get(1).get("httpT2C200").get("cpu").get("user").asDouble())
                .isEqualTo(60.0);
        assertThat(Files.size(dir.resolve("r.png"))).isPositive();
    }

    @Test
    void rangesWriteASharedUnitOnce() {
        assertThat(Ranges.of(List.of(1.2, 1.4), "%.1f KB")).isEqualTo("1.2–1.4 KB");
        assertThat(Ranges.of(List.of(3.0, 3.0), "%.0f")).isEqualTo("3");
        assertThat(Ranges.of(List.of(Double.NaN), "%.0f")).isEqualTo("-");
    }

    /** no proxy, fourtuple (its CPU times {@code factor}), haproxy and nginx (alike). */
    private static Run run(double factor) {
        return new Run(List.of(row(Run.BASELINE, 0), row("fourtuple", 20 * factor), row("haproxy", 10),
                row("nginx", 10)), List.of(), List.of());
    }

    private static Row row(String proxy, double cpu) {
        boolean ours = proxy.equals("fourtuple");
        ProcessTree.CpuTime time = new ProcessTree.CpuTime(cpu, 0);
        Row.Idle idle = new Row.Idle(1000, 0, 1000, 0, ours ? 2_000_000 : 4_000_000, 500, 1_000_000, null, null, 0, 0);
        Row.Echo echo = new Row.Echo(1000, 10, 1_000_000, 1000, 2000, 3000, time, 0);
        Row.Http http = new Row.Http(100_000, 5, 1_000_000, time, 0);
        Row.Connects connects = new Row.Connects(256, 8000, 8000, 0, ours ? 8 : 4, 10, 20, time, 0, List.of());
        return new Row(proxy, "v", idle, echo, http, http, connects, connects);
    }
}
