package dev.fourtuple.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.fourtuple.gateway.testing.TestCa;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code clusters.NAME.tls} over {@code cluster-defaults.tls}: defaults, the CA file, and its problems. */
class ClusterTlsConfigTest {
    private static final TestCa CA = TestCa.create("cluster tls root");

    @TempDir
    Path dir;

    /** A config file in {@code dir} whose cluster app has {@code tls { TLS }} on line 3. */
    private Path file(String tls) throws Exception {
        Path file = dir.resolve("gateway.conf");
        Files.writeString(file, """
                listen = "127.0.0.1:8080"
                clusters { app {
                  backends = ["127.0.0.1:9443"], tls { %s }
                } }
                routes = [ { cluster = app } ]
                """.formatted(tls));
        return file;
    }

    @Test
    void tlsIsOffByDefault() throws Exception {
        GatewayConfig config = ConfigLoader.load(file(""));

        assertThat(config.clusters().get("app").tls()).isNull();
    }

    @Test
    void enabledWithDefaultsTrustsTheJdkStoreAndVerifies() throws Exception {
        ClusterTls tls = ConfigLoader.load(file("enabled = true")).clusters().get("app").tls();

        assertThat(tls).isNotNull();
        assertThat(tls.ca()).isNull();
        assertThat(tls.trusted()).isEmpty();
        assertThat(tls.serverName()).isEmpty();
        assertThat(tls.verify()).isTrue();
    }

    @Test
    void aRelativeCaIsResolvedAgainstTheConfigFilesFolderAndRead() throws Exception {
        CA.writeRoot(dir.resolve("ca.pem"));

        ClusterTls tls = ConfigLoader.load(file("enabled = true, ca = \"ca.pem\", server-name = API.example"))
                .clusters().get("app").tls();

        assertThat(tls.ca()).isEqualTo(dir.resolve("ca.pem").toAbsolutePath().normalize());
        assertThat(tls.trusted()).containsExactly(CA.root());
        assertThat(tls.serverName()).isEqualTo("api.example");
    }

    @Test
    void theSameSettingsReadTwiceAreEqual() throws Exception {
        CA.writeRoot(dir.resolve("ca.pem"));
        Path file = file("enabled = true, ca = \"ca.pem\"");

        assertThat(ConfigLoader.load(file).clusters().get("app").tls())
                .isEqualTo(ConfigLoader.load(file).clusters().get("app").tls());
    }

    @Test
    void aMissingCaFileNamesFileLineAndKey() throws Exception {
        Path file = file("enabled = true, ca = \"missing.pem\"");

        ConfigProblems thrown = catchThrowableOfType(ConfigProblems.class, () -> ConfigLoader.load(file));

        assertThat(thrown.problems()).singleElement().satisfies(problem -> {
            assertThat(problem.location()).isEqualTo(file + ":3");
            assertThat(problem.key()).isEqualTo("clusters.app.tls.ca");
            assertThat(problem.value()).isEqualTo("\"missing.pem\"");
            assertThat(problem.expected()).startsWith("a readable PEM file of CA certificates (")
                    .contains(dir.resolve("missing.pem").toString());
        });
    }

    @Test
    void aCaFileThatIsNotPemIsAProblem() throws Exception {
        Files.writeString(dir.resolve("ca.pem"), "not a certificate\n");
        Path file = file("enabled = true, ca = \"ca.pem\"");

        ConfigProblems thrown = catchThrowableOfType(ConfigProblems.class, () -> ConfigLoader.load(file));

        assertThat(thrown.problems()).singleElement().satisfies(problem -> {
            assertThat(problem.location()).isEqualTo(file + ":3");
            assertThat(problem.key()).isEqualTo("clusters.app.tls.ca");
            assertThat(problem.expected()).contains("holds no \"-----BEGIN CERTIFICATE-----\" block");
        });
    }

    @Test
    void aBrokenCertificateInTheCaFileIsAProblem() throws Exception {
        Files.writeString(dir.resolve("ca.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");

        ConfigProblems thrown = catchThrowableOfType(ConfigProblems.class,
                () -> ConfigLoader.load(file("enabled = true, ca = \"ca.pem\"")));

        assertThat(thrown.problems()).singleElement().satisfies(problem ->
                assertThat(problem.expected()).contains("certificate 1 does not parse"));
    }

    @Test
    void aCaIsNotReadWhileTlsIsOff() throws Exception {
        GatewayConfig config = ConfigLoader.load(file("enabled = false, ca = \"missing.pem\""));

        assertThat(config.clusters().get("app").tls()).isNull();
    }

    @Test
    void unknownKeysAndBadValuesAreNamed() throws Exception {
        Path file = file("enabled = yes-please, verfiy = false, server-name = \"a b\"");

        ConfigProblems thrown = catchThrowableOfType(ConfigProblems.class, () -> ConfigLoader.load(file));

        assertThat(thrown.problems()).extracting(ConfigProblem::key).containsExactlyInAnyOrder(
                "clusters.app.tls.enabled", "clusters.app.tls.verfiy", "clusters.app.tls.server-name");
        assertThat(thrown.getMessage()).contains("did you mean verify?");
    }

    @Test
    void clusterDefaultsApplyToEveryCluster() throws Exception {
        Path file = dir.resolve("gateway.conf");
        Files.writeString(file, """
                listen = "127.0.0.1:8080"
                cluster-defaults { tls { enabled = true, verify = false } }
                clusters { a { backends = ["127.0.0.1:9443"] }, b { backends = ["127.0.0.1:9444"], tls.verify = true } }
                routes = [ { cluster = a } ]
                """);

        GatewayConfig config = ConfigLoader.load(file);

        assertThat(config.clusters().get("a").tls().verify()).isFalse();
        assertThat(config.clusters().get("b").tls().verify()).isTrue();
    }
}
