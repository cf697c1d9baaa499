package dev.fourtuple.gateway.admission;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * {@link PerClientLimits}: the table's life across reloads and the one WARN line per log-interval that sums up
 * per-client refusals (the counters and the clock are passed in).
 */
class PerClientLimitsTest {
    private static final Duration INTERVAL = Duration.ofSeconds(10);
    private static final long T0 = 1_000_000_000L;

    private final Map<Resource, Long> refused = new EnumMap<>(Resource.class);
    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    private final Logger logger = (Logger) LoggerFactory.getLogger(PerClientLimits.class);

    @BeforeEach
    void capture() {
        logged.start();
        logger.addAppender(logged);
    }

    @AfterEach
    void release() {
        logger.detachAppender(logged);
    }

    private static PerClientLimits limits(String keys) {
        return new PerClientLimits(ProcFixture.settings(keys).perClient());
    }

    private void summarize(PerClientLimits limits, long now) {
        limits.summarize(reason -> refused.getOrDefault(reason, 0L), now, INTERVAL);
    }

    @Test
    void oneLineSumsUpTheRefusalsByReasonThenNoneUntilTheIntervalHasPassed() {
        PerClientLimits limits = limits("per-client { max-connections = 1, table-size = 100 }");
        summarize(limits, T0);
        assertThat(logged.list).as("nothing refused: nothing to say").isEmpty();

        refused.put(Resource.PER_CLIENT_CONNECTIONS, 200L);
        refused.put(Resource.PER_CLIENT_TABLE_FULL, 3L);
        summarize(limits, T0 + 1);

        assertThat(logged.list).singleElement().satisfies(event -> assertThat(event.getFormattedMessage())
                .isEqualTo("admission: per-client limits refused 203 connection(s) since the last such line: "
                        + "200 per-client-connections, 0 per-client-rate, 3 per-client-table-full; "
                        + "client table 0 of 100, 0 with connections open"));

        refused.put(Resource.PER_CLIENT_RATE, 5L);
        summarize(limits, T0 + 1 + INTERVAL.toNanos() - 1);
        assertThat(logged.list).as("within the interval").hasSize(1);

        summarize(limits, T0 + 1 + INTERVAL.toNanos());
        assertThat(logged.list).hasSize(2);
        assertThat(logged.list.get(1).getFormattedMessage())
                .startsWith("admission: per-client limits refused 5 connection(s) since the last such line: "
                        + "0 per-client-connections, 5 per-client-rate, 0 per-client-table-full;");

        summarize(limits, T0 + 1 + 3 * INTERVAL.toNanos());
        assertThat(logged.list).as("nothing new refused").hasSize(2);
    }

    @Test
    void withBothLimitsOffThereIsNoTableUntilAReloadSwitchesOneOn() {
        PerClientLimits limits = limits("per-client.table-size = 300");
        assertThat(limits.activeTable()).isNull();
        assertThat(limits.size()).isZero();
        assertThat(limits.capacity()).isEqualTo(300);

        limits.reconfigure(ProcFixture.settings("per-client { connect-rate = 5, table-size = 900 }").perClient());

        PerClientTable table = limits.activeTable();
        assertThat(table).isNotNull();
        assertThat(table.capacity()).as("the start's table-size").isEqualTo(300);
        assertThat(table.tryAcquire(1, T0)).isNull();
        assertThat(limits.size()).isEqualTo(1);
        assertThat(limits.live()).isEqualTo(1);
    }

    @Test
    void aTableIsKeptWhenALaterReloadSwitchesBothLimitsOffSoReleasesStillArrive() {
        PerClientLimits limits = limits("per-client.max-connections = 1");
        PerClientTable table = limits.activeTable();
        assertThat(table.tryAcquire(7, T0)).isNull();

        limits.reconfigure(ProcFixture.settings("").perClient());
        assertThat(limits.activeTable()).as("not consulted while off").isNull();
        assertThat(table.release(7)).isTrue();

        limits.reconfigure(ProcFixture.settings("per-client.max-connections = 1").perClient());
        assertThat(limits.activeTable()).isSameAs(table);
        assertThat(table.tryAcquire(7, T0)).as("its count was released meanwhile").isNull();
    }
}
