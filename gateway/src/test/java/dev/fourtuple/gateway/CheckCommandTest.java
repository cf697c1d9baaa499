package dev.fourtuple.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The CLI as a user runs it: a child JVM, its exit code and what it prints. */
class CheckCommandTest {
    private static final String VALID = """
            listen = "127.0.0.1:8080"
            clusters {
              echo { backends = ["127.0.0.1:9001", "127.0.0.1:9002"], balancer = round-robin }
            }
            routes = [ { host = "*", path-prefix = "/", cluster = echo } ]
            """;

    @TempDir
    Path dir;

    @Test
    @Timeout(60)
    void validFileExitsZeroAndSaysOk() throws Exception {
        Path config = write("gateway.conf", VALID);

        Result result = run("check", "--config", config.toString());

        assertThat(result.exit()).as(result.toString()).isZero();
        assertThat(result.out()).contains(config + ": ok (1 route(s), 1 cluster(s), 1 listener(s), 0 certificate(s))");
        assertThat(result.err()).isEmpty();
    }

    @Test
    @Timeout(60)
    void unknownKeyExitsTwoNamingFileLineAndKey() throws Exception {
        Path config = write("gateway.conf", VALID + "idle-timout = 5s\n");

        Result result = run("check", "--config", config.toString());

        assertThat(result.exit()).as(result.toString()).isEqualTo(2);
        assertThat(result.err()).contains(
                config + ":6: idle-timout: \"5s\" (expected: no such key; did you mean idle-timeout?)",
                config + ": 1 problem(s); nothing was started");
        assertThat(result.out()).doesNotContain(": ok (");
    }

    @Test
    @Timeout(60)
    void missingFileExitsTwo() throws Exception {
        Path absent = dir.resolve("absent.conf");

        Result result = run("check", "--config", absent.toString());

        assertThat(result.exit()).as(result.toString()).isEqualTo(2);
        assertThat(result.err()).contains(absent + ": (file): ", "(expected: a readable HOCON file)");
    }

    @Test
    @Timeout(60)
    void runWithInvalidConfigExitsTwoWithoutStarting() throws Exception {
        Path config = write("gateway.conf", VALID.replace("127.0.0.1:8080", "127.0.0.1:0") + "backlog = 0\n");

        Result result = run("run", "--config", config.toString());

        // run serves until a signal, so returning at all shows nothing was started.
        assertThat(result.exit()).as(result.toString()).isEqualTo(2);
        assertThat(result.err()).contains(config + ":6: backlog: 0 (expected: 1..65535)",
                config + ": 1 problem(s); nothing was started");
    }

    @Test
    @Timeout(60)
    void checkWithoutConfigExitsTwoWithUsage() throws Exception {
        Result result = run("check");

        assertThat(result.exit()).as(result.toString()).isEqualTo(2);
        assertThat(result.err()).contains("--config FILE is required", "usage: fourtuple",
                "fourtuple check --config FILE");
    }

    @Test
    @Timeout(60)
    void anUnknownFlagAfterTheConfigExitsTwoNamingIt() throws Exception {
        Path config = write("gateway.conf", VALID);

        Result result = run("check", "--config", config.toString(), "--bogus");

        assertThat(result.exit()).as(result.toString()).isEqualTo(2);
        assertThat(result.err()).startsWith("check: unknown flag: --bogus (expected: --config FILE, --help)\n"
                + "usage: fourtuple check --config FILE\n");
        assertThat(result.out()).isEmpty();
    }

    @Test
    @Timeout(60)
    void aMissingRequiredIncludeExitsTwoNamingTheIncludingFileAndLine() throws Exception {
        Path config = write("gateway.conf", VALID + "\ninclude required(\"missing.conf\")\n");

        Result result = run("check", "--config", config.toString());

        assertThat(result.exit()).as(result.toString()).isEqualTo(2);
        assertThat(result.err()).isEqualTo(config + ":7: include: required(\"missing.conf\") (expected: a readable "
                + "file " + dir.resolve("missing.conf") + ", or a resource missing.conf on the classpath)\n"
                + config + ": 1 problem(s); nothing was started\n");
    }

    @Test
    @Timeout(60)
    void aConfigNamedWithoutDirectoryFindsTheIncludeNextToIt() throws Exception {
        // Typesafe Config resolves an include against the including file's parent; "gateway.conf" has none.
        write("gateway.conf", VALID + "include required(\"limits.conf\")\n");
        write("limits.conf", "backlog = 0\n");

        Result result = runIn(dir, "check", "--config", "gateway.conf");

        assertThat(result.exit()).as(result.toString()).isEqualTo(2);
        assertThat(result.err()).as("limits.conf was read: its value is the problem")
                .contains("./limits.conf:1: backlog: 0 (expected: 1..65535)",
                        "gateway.conf: 1 problem(s); nothing was started");

        write("limits.conf", "backlog = 100\n");
        Result fixed = runIn(dir, "check", "--config", "gateway.conf");
        assertThat(fixed.exit()).as(fixed.toString()).isZero();
        assertThat(fixed.out()).contains("gateway.conf: ok (1 route(s), 1 cluster(s), 1 listener(s)");
    }

    @Test
    @Timeout(60)
    void checkReadsTheCertificatesAndNamesTheFileOfAKeyThatDoesNotMatch() throws Exception {
        dev.fourtuple.gateway.testing.TestCa ca = dev.fourtuple.gateway.testing.TestCa.create("root");
        var a = ca.issue(dir, "a", "a.test");
        var other = ca.issue(dir, "other", "a.test");
        String tls = VALID.replace("listen = \"127.0.0.1:8080\"", "listeners = [ { listen = \"127.0.0.1:8443\", "
                + "tls { certificates = [ { cert = a.pem, key = KEY } ] } } ]");
        Path good = write("good.conf", tls.replace("KEY", "a.key"));
        Path bad = write("bad.conf", tls.replace("KEY", "other.key"));

        Result ok = run("check", "--config", good.toString());
        Result refused = run("check", "--config", bad.toString());

        assertThat(ok.exit()).as(ok.toString()).isZero();
        assertThat(ok.out()).contains("1 listener(s), 1 certificate(s))");
        assertThat(refused.exit()).as(refused.toString()).isEqualTo(2);
        assertThat(refused.err()).contains(bad + ": " + bad + ":1: " + other.key()
                + ": this key is not the one of the certificate in " + a.cert());
    }

    private Path write(String name, String text) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, text);
        return file;
    }

    private Result run(String... args) throws IOException, InterruptedException {
        return runIn(null, args);
    }

    private Result runIn(Path workingDirectory, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"),
                Main.class.getName()));
        command.addAll(List.of(args));
        // Files, not pipes: a child that fills a pipe nobody reads yet would block.
        File out = dir.resolve("stdout.txt").toFile();
        File err = dir.resolve("stderr.txt").toFile();
        Process process = new ProcessBuilder(command).redirectOutput(out).redirectError(err)
                .directory(workingDirectory == null ? null : workingDirectory.toFile()).start();
        try {
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("exited within 30 s: %s", command).isTrue();
        } finally {
            process.destroyForcibly();
        }
        return new Result(process.exitValue(), Files.readString(out.toPath()), Files.readString(err.toPath()));
    }

    private record Result(int exit, String out, String err) {
    }
}
