package dev.fourtuple.gateway.config;

import dev.fourtuple.gateway.testing.TestConfigs;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Includes: a required include that cannot be read is one problem at its include statement, {@code FILE:LINE},
 * in the including file, however deep. Typesafe Config 1.4.5 by itself names only the missing name.
 */
class ConfigIncludeTest {
    private static final String VALID = TestConfigs.ONE_CLUSTER;

    @TempDir
    Path dir;

    @Test
    void aMissingRequiredIncludeIsAProblemAtItsLine() throws IOException {
        Path file = write("gateway.conf", VALID + "\ninclude required(\"missing.conf\")\n");

        assertThat(problems(file)).containsExactly(file + ":5: include: required(\"missing.conf\") (expected: a "
                + "readable file " + dir.resolve("missing.conf") + ", or a resource missing.conf on the classpath)");
    }

    @Test
    void aMissingIncludeInAnIncludedFileIsReportedInThatFile() throws IOException {
        Path file = write("gateway.conf", VALID + "include required(\"conf.d/limits.conf\")\n");
        Path limits = write("conf.d/limits.conf", """
                backlog = 100

                admission { include required("admission.conf") }
                """);

        assertThat(problems(file)).containsExactly(limits + ":3: include: required(\"admission.conf\") (expected: a "
                + "readable file " + dir.resolve("conf.d/admission.conf")
                + ", or a resource admission.conf on the classpath)");
    }

    @Test
    void aMissingIncludeInsideAFileIncludedWithoutSuffixIsNotDropped() throws IOException {
        // Typesafe Config tries limits.conf, .json, .properties and would swallow the inner failure with the
        // keys of limits.conf; a required include inside it is required all the same.
        for (String outer : List.of("include required(\"limits\")", "include \"limits\"")) {
            Path file = write("gateway.conf", VALID + outer + "\n");
            Path limits = write("limits.conf", "backlog = 100\ninclude required(\"gone.conf\")\n");

            assertThat(problems(file)).as(outer).containsExactly(limits + ":2: include: required(\"gone.conf\") "
                    + "(expected: a readable file " + dir.resolve("gone.conf")
                    + ", or a resource gone.conf on the classpath)");
        }
    }

    @Test
    void fileAndClasspathIncludesAreNamedAsWritten() throws IOException {
        Path absent = dir.resolve("absent.conf");
        Path file = write("gateway.conf", VALID + "include required(file(\"" + absent + "\"))\n");
        assertThat(problems(file)).containsExactly(file + ":4: include: required(file(\"" + absent + "\")) "
                + "(expected: a readable file " + absent + " (file() is relative to the working directory))");

        Path classpath = write("classpath.conf", VALID + "include required( classpath( \"no/such.conf\" ) )\n");
        assertThat(problems(classpath)).containsExactly(classpath + ":4: include: required(classpath("
                + "\"no/such.conf\")) (expected: a resource no/such.conf on the classpath)");
    }

    @Test
    void theLineIsTheIncludeThatIsNotCommentedOut() throws IOException {
        Path file = write("gateway.conf", """
                # include required("missing.conf")
                // include required("missing.conf")
                note = "include required(\\"missing.conf\\")" # a string, not an include
                include required("missing.conf")
                """);

        assertThat(problems(file)).singleElement().asString().startsWith(file + ":4: include: ");
    }

    @Test
    void aMissingIncludeInConfigTextIsAtTheTextsLine() {
        ConfigProblems thrown = catchThrowableOfType(ConfigProblems.class,
                () -> ConfigLoader.parse(VALID + "include required(\"missing.conf\")\n", "text.conf"));

        assertThat(thrown).isNotNull();
        assertThat(thrown.getMessage()).isEqualTo("text.conf:4: include: required(\"missing.conf\") "
                + "(expected: a resource missing.conf on the classpath)");
    }

    @Test
    void anOptionalMissingIncludeIsNoProblem() throws Exception {
        Path file = write("gateway.conf", VALID + "include \"missing.conf\"\n");

        assertThat(ConfigLoader.load(file).backlog()).isEqualTo(4096);
    }

    @Test
    void anIncludedFilesValuesApplyAndItsProblemsAreAtItsOwnLines() throws Exception {
        Path file = write("gateway.conf", VALID + "include required(\"conf.d/limits.conf\")\n");
        Path limits = write("conf.d/limits.conf", "backlog = 100\n");
        assertThat(ConfigLoader.load(file).backlog()).isEqualTo(100);

        Files.writeString(limits, "\nbacklog = 0\n");
        assertThat(problems(file)).containsExactly(limits + ":2: backlog: 0 (expected: 1..65535)");
    }

    @Test
    void lineOfFindsTheStatementOfThatKindAndName() {
        String text = """
                include required("a.conf")
                include required(file("a.conf"))
                x { include   required ( "b.conf" ) }
                """;

        assertThat(IncludeTrail.lineOf(text, "", "a.conf")).isEqualTo(1);
        assertThat(IncludeTrail.lineOf(text, "file", "a.conf")).isEqualTo(2);
        assertThat(IncludeTrail.lineOf(text, "", "b.conf")).isEqualTo(3);
        assertThat(IncludeTrail.lineOf(text, "url", "a.conf")).isZero();
        assertThat(IncludeTrail.lineOf(text, "", "c.conf")).isZero();
        assertThat(IncludeTrail.lineOf(null, "", "a.conf")).isZero();
    }

    private Path write(String name, String text) throws IOException {
        Path file = dir.resolve(name);
        Files.createDirectories(file.getParent());
        return Files.writeString(file, text);
    }

    private static List<String> problems(Path file) {
        ConfigProblems thrown = catchThrowableOfType(ConfigProblems.class, () -> ConfigLoader.load(file));
        assertThat(thrown).as("problems in %s", file).isNotNull();
        return thrown.problems().stream().map(ConfigProblem::toString).toList();
    }
}
