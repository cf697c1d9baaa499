package dev.fourtuple.gateway.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.fourtuple.gateway.config.TlsSettings.CertificateFiles;
import dev.fourtuple.gateway.testing.TestCa;
import dev.fourtuple.gateway.testing.TestCa.Issued;
import dev.fourtuple.gateway.testing.TestCa.KeyKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateBundleTest {
    @TempDir
    Path dir;

    private static CertificateFiles files(Issued issued) {
        return new CertificateFiles(issued.cert(), issued.key(), "gateway.conf:7");
    }

    @Test
    void readsAChainOfLeafAndIntermediateWithItsNames() {
        TestCa intermediate = TestCa.create("root").intermediate("intermediate");
        Issued issued = intermediate.issue(dir, "a", "a.test", "*.b.test");

        CertificateBundle bundle = CertificateBundle.load(files(issued), Instant.now());

        assertThat(bundle.chain()).hasSize(2);
        assertThat(bundle.dnsNames()).containsExactly("a.test", "*.b.test");
        assertThat(bundle.name()).isEqualTo("a.test");
        assertThat(bundle.remaining(Instant.now())).isBetween(Duration.ofDays(89), Duration.ofDays(90));
    }

    @Test
    void readsRsaToo() {
        Issued issued = TestCa.create("root").issue(dir, "r", KeyKind.RSA, Duration.ofDays(30), "r.test");
        assertThat(CertificateBundle.load(files(issued), Instant.now()).key().getAlgorithm()).isEqualTo("RSA");
    }

    @Test
    void refusesAKeyOfAnotherCertificateNamingBothFiles() {
        TestCa ca = TestCa.create("root");
        Issued a = ca.issue(dir, "a", "a.test");
        Issued b = ca.issue(dir, "b", "b.test");

        assertThatThrownBy(() -> CertificateBundle.load(new CertificateFiles(a.cert(), b.key(), "gateway.conf:7"),
                Instant.now()))
                .hasMessageStartingWith("gateway.conf:7: " + b.key())
                .hasMessageContaining("not the one of the certificate in " + a.cert());
    }

    @Test
    void refusesAnRsaKeyForAnEcCertificate() {
        TestCa ca = TestCa.create("root");
        Issued ec = ca.issue(dir, "ec", "a.test");
        Issued rsa = ca.issue(dir, "rsa", KeyKind.RSA, Duration.ofDays(30), "a.test");

        assertThatThrownBy(() -> CertificateBundle.load(new CertificateFiles(ec.cert(), rsa.key(), "x:1"),
                Instant.now())).hasMessageContaining("not the one of the certificate");
    }

    @Test
    void refusesAChainOutOfOrder() throws Exception {
        TestCa intermediate = TestCa.create("root").intermediate("intermediate");
        Issued issued = intermediate.issue(dir, "a", "a.test");
        String pem = Files.readString(issued.cert());
        int second = pem.indexOf("-----BEGIN CERTIFICATE-----", 1);
        Files.writeString(issued.cert(), pem.substring(second) + pem.substring(0, second));

        // The key matches the leaf, which is now second: the first certificate is the intermediate's.
        assertThatThrownBy(() -> CertificateBundle.load(files(issued), Instant.now()))
                .hasMessageContaining(issued.cert().toString());
    }

    @Test
    void refusesAnExpiredCertificate() {
        Issued issued = TestCa.create("root").issue(dir, "old", KeyKind.EC, Duration.ofDays(-1), "old.test");
        assertThatThrownBy(() -> CertificateBundle.load(files(issued), Instant.now()))
                .hasMessageContaining(issued.cert() + ": certificate 1 of the chain").hasMessageContaining("expired");
    }

    @Test
    void refusesAnRsaPrivateKeyFileSayingHowToConvertIt() throws Exception {
        Issued issued = TestCa.create("root").issue(dir, "a", "a.test");
        Files.writeString(issued.key(), "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n");
        assertThatThrownBy(() -> CertificateBundle.load(files(issued), Instant.now()))
                .hasMessageContaining("openssl pkcs8 -topk8");
    }

    @Test
    void namesAFileItCannotRead() {
        Issued issued = TestCa.create("root").issue(dir, "a", "a.test");
        Path missing = dir.resolve("missing.pem");
        assertThatThrownBy(() -> CertificateBundle.load(new CertificateFiles(missing, issued.key(), "x:1"),
                Instant.now())).hasMessageStartingWith("x:1: " + missing + ": cannot read it");
    }
}
