package dev.fourtuple.gateway.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Log levels from the config, and journald-friendly lines when systemd's JOURNAL_STREAM is set. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LoggingIntegrationTest {
    private static final String CONFIG = """
            listen = "127.0.0.1:0"
            admin.listen = off
            clusters { c { backends = ["127.0.0.1:9"] } }
            routes = [ { cluster = c } ]
            """;

    @TempDir
    Path dir;

    @RegisterExtension
    final Closer closer = new Closer();

    @Test
    void underJournaldLinesCarryNoTimestamp() throws Exception {
        GatewayProcess gateway = closer.track(GatewayProcess.start(dir, CONFIG, 0, Map.of("JOURNAL_STREAM", "8:12345")));
        gateway.awaitPort(Duration.ofSeconds(30));
        assertThat(gateway.terminate(Duration.ofSeconds(20))).isZero();

        String afterStart = gateway.logText().substring(gateway.logText().indexOf("listening on"));
        assertThat(afterStart.lines().skip(1).filter(l -> !l.isBlank()))
                .isNotEmpty()
                .allSatisfy(line -> assertThat(line).matches("(INFO |WARN |ERROR|DEBUG|TRACE) .*"));
    }

    @Test
    void levelsComeFromTheConfig() throws Exception {
        GatewayProcess gateway = closer.track(GatewayProcess.start(dir,
                CONFIG + "logging.levels { \"dev.fourtuple.gateway.ops.Signals\" = warn }\n", 0));
        gateway.awaitPort(Duration.ofSeconds(30));
        assertThat(gateway.terminate(Duration.ofSeconds(20))).isZero();

        assertThat(gateway.logText()).contains("draining").doesNotContain("SIGTERM: draining");
    }
}
