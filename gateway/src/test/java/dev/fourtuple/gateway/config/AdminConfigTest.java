package dev.fourtuple.gateway.config;

import dev.fourtuple.gateway.testing.TestConfigs;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code admin { }}: the admin server's address, timeouts and connection limit, with their defaults. */
class AdminConfigTest {
    // The admin line is line 4.
    private static final String BASE = TestConfigs.ONE_CLUSTER;

    @Test
    void defaultsComeFromTheReference() throws Exception {
        AdminSettings admin = ConfigLoader.parse(BASE, "test.conf").ops().admin();

        assertThat(admin).isEqualTo(new AdminSettings(new InetSocketAddress("127.0.0.1", 9090),
                Duration.ofSeconds(10), Duration.ofSeconds(60), 64));
    }

    @Test
    void everyKeyCanBeSetAndListenAndIdleTimeoutSwitchedOff() throws Exception {
        AdminSettings admin = ConfigLoader.parse(BASE
                + "admin { listen = off, header-timeout = 2s, idle-timeout = off, max-connections = 5 }\n", "test.conf")
                .ops().admin();

        assertThat(admin).isEqualTo(new AdminSettings(null, Duration.ofSeconds(2), Duration.ZERO, 5));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "header-timeout = off | admin.header-timeout | \"off\" | a duration from 1ms to 1h",
        "header-timeout = 2h | admin.header-timeout | \"2h\" | a duration from 1ms to 1h",
        "idle-timeout = 0s | admin.idle-timeout | \"0s\" | off, or a duration from 1ms to 1d",
        "max-connections = 0 | admin.max-connections | 0 | 1..10000",
        "max-connections = off | admin.max-connections | \"off\" | 1..10000",
        "max-conections = 5 | admin.max-conections | 5 | no such key; did you mean max-connections?",
    })
    void aBadValueIsOneProblemAtItsLine(String line, String key, String value, String expected) {
        ConfigProblems thrown = catchThrowableOfType(ConfigProblems.class,
                () -> ConfigLoader.parse(BASE + "admin { " + line + " }\n", "test.conf"));

        assertThat(thrown).isNotNull();
        assertThat(thrown.getMessage()).isEqualTo("test.conf:4: " + key + ": " + value + " (expected: " + expected + ")");
    }

    @Test
    void everyChangedAdminKeyIsNamedForARestart() throws Exception {
        AdminSettings running = ConfigLoader.parse(BASE, "test.conf").ops().admin();
        AdminSettings next = ConfigLoader.parse(BASE + "admin { listen = \"127.0.0.1:9191\", idle-timeout = 5s,"
                + " max-connections = 8 }\n", "test.conf").ops().admin();

        assertThat(running.changedKeys(running)).isEmpty();
        assertThat(running.changedKeys(next)).containsExactly("admin.listen", "admin.idle-timeout",
                "admin.max-connections");
    }
}
