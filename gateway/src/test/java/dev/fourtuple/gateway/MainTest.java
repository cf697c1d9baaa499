package dev.fourtuple.gateway;

import dev.fourtuple.gateway.testing.TestConfigs;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The hand parser of {@link Main}, in this JVM (CheckCommandTest and DoctorCommandTest run the same as child
 * processes): every command takes only its own flags, and every bad word is named with exit 2. Only commands
 * that end by themselves run here: a usage error returns before anything is started.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class MainTest {
    private static final String VALID = TestConfigs.ONE_CLUSTER;

    @TempDir
    Path dir;
    private String config;

    @BeforeEach
    void validConfig() throws IOException {
        config = Files.writeString(dir.resolve("gateway.conf"), VALID).toString();
    }

    @Test
    void anUnknownCommandExitsTwoNamingIt() {
        Result result = main("frob", "--config", config);

        assertThat(result.exit()).isEqualTo(2);
        assertThat(result.firstErrorLine())
                .isEqualTo("unknown command: frob (expected: run, check, doctor, upgrade, demo, echo-backend, help)");
        assertThat(result.err()).contains("usage: fourtuple [run] --config FILE");
        assertThat(result.out()).isEmpty();
    }

    @Test
    void aMistypedDoctorFlagExitsTwoInsteadOfPrintingTheTextReport() {
        Result result = main("doctor", "--config", config, "--jsn");

        assertThat(result.exit()).isEqualTo(2);
        assertThat(result.firstErrorLine()).isEqualTo("doctor: unknown flag: --jsn (expected: --config FILE, --json, "
                + "--proc-root DIR, --cgroup-root DIR, --help)");
        assertThat(result.err()).contains("usage: fourtuple doctor --config FILE [--json]");
        assertThat(result.out()).as("no report at all, text or JSON").isEmpty();
    }

    @Test
    void anUnknownFlagAfterAValidConfigFailsTheCheck() {
        Result result = main("check", "--config", config, "--bogus");

        assertThat(result.exit()).isEqualTo(2);
        assertThat(result.firstErrorLine()).isEqualTo("check: unknown flag: --bogus (expected: --config FILE, --help)");
        assertThat(result.out()).doesNotContain(": ok (");
    }

    @Test
    void theSameConfigWithoutTheBadFlagChecksOk() {
        Result result = main("check", "--config=" + config);

        assertThat(result.exit()).as(result.toString()).isZero();
        assertThat(result.out()).isEqualTo(config + ": ok (1 route(s), 1 cluster(s), 1 listener(s), 0 certificate(s))\n");
        assertThat(result.err()).isEmpty();
    }

    @Test
    void aFlagOfAnotherCommandIsUnknownWhereItIsMisplaced() {
        assertThat(main("check", "--config", config, "--json").firstErrorLine())
                .isEqualTo("check: unknown flag: --json (expected: --config FILE, --help)");
        assertThat(main("run", "--config", config, "--proc-root", "/tmp").firstErrorLine())
                .isEqualTo("run: unknown flag: --proc-root (expected: --config FILE, --help)");
        assertThat(main("--config", config, "--json").firstErrorLine()).as("run is the default command")
                .isEqualTo("run: unknown flag: --json (expected: --config FILE, --help)");
        Result demo = main("demo", "--config", config);
        assertThat(demo.exit()).isEqualTo(2);
        assertThat(demo.firstErrorLine()).isEqualTo("demo: unknown flag: --config (expected: --help)");
        assertThat(main("echo-backend", "127.0.0.1:0", "--json").firstErrorLine())
                .isEqualTo("echo-backend: unknown flag: --json (expected: IP:PORT [NAME], --help)");
    }

    @Test
    void aFlagMissingItsValueIsAnError() {
        Result last = main("check", "--config");
        assertThat(last.exit()).isEqualTo(2);
        assertThat(last.firstErrorLine()).isEqualTo("check: --config: missing value (expected: --config FILE)");

        Result beforeAFlag = main("doctor", "--config", config, "--proc-root", "--json");
        assertThat(beforeAFlag.exit()).isEqualTo(2);
        assertThat(beforeAFlag.firstErrorLine())
                .isEqualTo("doctor: --proc-root: missing value (expected: --proc-root DIR)");
        assertThat(beforeAFlag.out()).isEmpty();

        assertThat(main("check", "--config=").firstErrorLine())
                .isEqualTo("check: --config: missing value (expected: --config FILE)");
    }

    @Test
    void aRequiredFlagThatIsAbsentIsNamed() {
        Result result = main("doctor", "--json");

        assertThat(result.exit()).isEqualTo(2);
        assertThat(result.firstErrorLine()).isEqualTo("doctor: --config FILE is required");
    }

    @Test
    void aFlagGivenTwiceOrASwitchWithAValueIsAnError() {
        assertThat(main("check", "--config", config, "--config", config).firstErrorLine())
                .isEqualTo("check: --config: given twice (expected: one --config FILE)");
        assertThat(main("doctor", "--config", config, "--json", "--json").firstErrorLine())
                .isEqualTo("doctor: --json: given twice (expected: one --json)");
        Result valued = main("doctor", "--config", config, "--json=yes");
        assertThat(valued.exit()).isEqualTo(2);
        assertThat(valued.firstErrorLine()).isEqualTo("doctor: --json=yes: takes no value (expected: --json)");
    }

    @Test
    void anArgumentNoCommandTakesIsNamed() {
        assertThat(main("check", "--config", config, "other.conf").firstErrorLine())
                .isEqualTo("check: unexpected argument: other.conf (expected: --config FILE, --help)");
        assertThat(main("echo-backend", "127.0.0.1:0", "b", "extra").firstErrorLine())
                .isEqualTo("echo-backend: unexpected argument: extra (expected: IP:PORT [NAME], --help)");
        assertThat(main("demo", "now").firstErrorLine())
                .isEqualTo("demo: unexpected argument: now (expected: --help)");
    }

    @Test
    void echoBackendNamesAMissingOrBadAddress() {
        assertThat(main("echo-backend").firstErrorLine())
                .isEqualTo("echo-backend: missing argument (expected: IP:PORT [NAME])");
        for (String bad : List.of("127.0.0.1", "127.0.0.1:65536", "127.0.0.1:99999999999", "127.0.0.1:http")) {
            Result result = main("echo-backend", bad);
            assertThat(result.exit()).as(bad).isEqualTo(2);
            assertThat(result.firstErrorLine()).isEqualTo("echo-backend: " + bad
                    + " (expected: IP:PORT, an address of this host and a port 0..65535)");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"run", "check", "doctor", "demo", "echo-backend", "help"})
    void helpOnEveryCommandPrintsItsUsageAndExitsZero(String command) {
        for (String help : List.of("--help", "-h")) {
            Result result = main(command, help);

            assertThat(result.exit()).as(result.toString()).isZero();
            assertThat(result.out()).startsWith("usage: fourtuple " + command).contains("  -h, --help ");
            assertThat(result.err()).isEmpty();
        }
    }

    @Test
    void helpWinsOverEveryOtherWord() {
        Result result = main("doctor", "--jsn", "--config", "--help");

        assertThat(result.exit()).as(result.toString()).isZero();
        assertThat(result.out()).startsWith("usage: fourtuple doctor --config FILE [--json]\n")
                .contains("  --json ", "  --proc-root DIR ", "  --cgroup-root DIR ");
    }

    @Test
    void helpWithoutACommandListsEveryCommandAndWithOneShowsItsFlags() {
        for (String[] global : List.of(new String[] {"--help"}, new String[] {"-h"}, new String[] {"help"})) {
            Result result = main(global);
            assertThat(result.exit()).isZero();
            assertThat(result.out()).startsWith("usage: fourtuple [run] --config FILE ")
                    .contains("fourtuple check --config FILE ", "fourtuple doctor --config FILE [--json] ",
                            "fourtuple demo ", "fourtuple echo-backend IP:PORT [NAME] ", "fourtuple COMMAND --help ");
        }
        assertThat(main("help", "doctor").out()).isEqualTo(main("doctor", "--help").out());
        assertThat(main("--help", "check").out()).isEqualTo(main("check", "-h").out());
        Result unknown = main("help", "frob");
        assertThat(unknown.exit()).isEqualTo(2);
        assertThat(unknown.firstErrorLine()).startsWith("unknown command: frob (expected: ");
    }

    private static Result main(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8),
                new ArrayList<>(List.of(args)));
    }

    private record Result(int exit, String out, String err, List<String> args) {

        String firstErrorLine() {
            return err.lines().findFirst().orElse("");
        }
    }
}
