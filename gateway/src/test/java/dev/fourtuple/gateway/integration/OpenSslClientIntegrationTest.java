package dev.fourtuple.gateway.integration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.ListenerKind;
import dev.fourtuple.gateway.testing.OpenSslClient;
import dev.fourtuple.gateway.testing.TestCa;
import dev.fourtuple.gateway.testing.TestCa.Issued;
import dev.fourtuple.gateway.testing.TestCa.KeyKind;
import dev.fourtuple.gateway.transport.TransportKind;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The TLS listener as {@code openssl s_client} sees it, a client that offers exactly what each test asks for:
 * certificate choice by SNI (exact names, then wildcards; the first certificate without SNI or for an unknown
 * name), refusal of TLS 1.0 / 1.1 and of weak TLS 1.2 cipher suites (the server's alert, not a timeout), and
 * session resumption (TLS 1.3 tickets, TLS 1.2 tickets, TLS 1.2 session ids). Over every transport, with each
 * TLS engine ({@code tls.provider = openssl | jdk}).
 */
@ParameterizedClass
@MethodSource("transportsAndProviders")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OpenSslClientIntegrationTest {
    @Parameter(0)
    TransportKind transport;
    @Parameter(1)
    String provider;

    @RegisterExtension
    final Closer closer = new Closer();
    @TempDir
    Path dir;

    private Issued a;
    private Issued b;
    private Issued wildcard;
    private Issued exact;
    private Issued rsa;
    private GatewayFixture fixture;

    static Stream<Arguments> transportsAndProviders() {
        return Arrays.stream(TransportKind.values())
                .flatMap(transport -> Stream.of("openssl", "jdk").map(provider -> Arguments.of(transport, provider)));
    }

    /**
     * One listener, five certificates: a.test first (the default), b.test, *.w.test, then exact.w.test after the
     * wildcard that also covers it (an exact name must win however the list is ordered), and an RSA one.
     */
    @BeforeEach
    void start() throws Exception {
        TestCa ca = TestCa.create("s_client root");
        a = ca.issue(dir, "a", "a.test");
        b = ca.issue(dir, "b", "b.test");
        wildcard = ca.issue(dir, "w", "*.w.test");
        exact = ca.issue(dir, "exact", "exact.w.test");
        rsa = ca.issue(dir, "r", KeyKind.RSA, Duration.ofDays(90), "r.test");
        StringBuilder certificates = new StringBuilder();
        for (Issued issued : List.of(a, b, wildcard, exact, rsa)) {
            certificates.append(certificates.length() == 0 ? "" : ", ")
                    .append("{ cert = \"").append(issued.cert()).append("\", key = \"").append(issued.key())
                    .append("\" }");
        }
        String listeners = "listeners = [ { name = https, listen = \"127.0.0.1:0\", tls { provider = " + provider
                + ", certificates = [ " + certificates + " ] } } ]";
        fixture = closer.track(GatewayFixture.withListeners(transport, ListenerKind.TLS, listeners, 1, backends ->
                "clusters { echo { backends = " + GatewayFixture.backendList(backends) + " } }\n"
                        + "routes = [ { cluster = echo } ]\n"));
    }

    @Test
    void eachSniNameGetsItsOwnCertificate() throws Exception {
        assertThat(certificateFor("-servername", "a.test")).isEqualTo(a.certificate());
        assertThat(certificateFor("-servername", "b.test")).isEqualTo(b.certificate());
        assertThat(certificateFor("-servername", "r.test")).isEqualTo(rsa.certificate());
    }

    @Test
    void aWildcardCertificateCoversOneLabelAndAnExactNameBeatsIt() throws Exception {
        assertThat(certificateFor("-servername", "x.w.test")).isEqualTo(wildcard.certificate());
        assertThat(certificateFor("-servername", "exact.w.test")).as("exact before wildcard")
                .isEqualTo(exact.certificate());
        // RFC 6125 §6.4.3: the wildcard stands for one label only; w.test and y.x.w.test are other names.
        assertThat(certificateFor("-servername", "y.x.w.test")).isEqualTo(a.certificate());
        assertThat(certificateFor("-servername", "w.test")).isEqualTo(a.certificate());
    }

    @Test
    void aClientWithoutSniGetsTheFirstCertificate() throws Exception {
        assertThat(certificateFor("-noservername")).isEqualTo(a.certificate());
    }

    @Test
    void anUnknownNameGetsTheFirstCertificate() throws Exception {
        assertThat(certificateFor("-servername", "unknown.test")).isEqualTo(a.certificate());
        assertThat(certificateFor("-servername", "B.TEST")).as("names compare without case")
                .isEqualTo(b.certificate());
    }

    /** TLS 1.1 and 1.0 are refused by the server with a protocol_version alert (RFC 8446 §6.2, RFC 8996). */
    @Test
    void tls11AndTls10ClientsAreRefused() throws Exception {
        for (String version : List.of("-tls1_1", "-tls1")) {
            // Debian's OpenSSL 3 offers versions below 1.2 only at security level 0.
            OpenSslClient.Result result = sClient(version, "-cipher", "DEFAULT:@SECLEVEL=0", "-servername", "a.test");

            assertThat(result.handshakeDone()).as("%s: %s", version, result).isFalse();
            assertThat(result.exitCode()).as("%s: %s", version, result).isNotZero();
            assertThat(result.output()).as("%s: the server's alert", version).contains("alert protocol version");
        }
    }

    /**
     * A TLS 1.2 client offering only CBC suites (SHA-1 MACs; with RSA key exchange also no forward secrecy) is
     * refused with a handshake_failure alert: the server shares no suite with it. The same client offering one
     * forward-secret AEAD suite gets through, so the refusal is about the suites.
     */
    @Test
    void tls12ClientsOfferingOnlyWeakCiphersAreRefused() throws Exception {
        List<List<String>> weak = List.of(
                List.of("ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA", "a.test"),
                List.of("ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA", "r.test"),
                List.of("AES128-SHA:AES256-SHA:AES128-GCM-SHA256:AES256-GCM-SHA384", "r.test"));
        for (List<String> offer : weak) {
            OpenSslClient.Result result = sClient("-tls1_2", "-cipher", offer.get(0), "-servername", offer.get(1));

            assertThat(result.handshakeDone()).as("%s: %s", offer, result).isFalse();
            assertThat(result.exitCode()).as("%s: %s", offer, result).isNotZero();
            assertThat(result.output()).as("%s: the server's alert", offer).contains("alert handshake failure");
        }
        OpenSslClient.Result ecdsa = sClient("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256",
                "-servername", "a.test");
        assertThat(ecdsa.cipher()).as("%s", ecdsa).isEqualTo("ECDHE-ECDSA-AES128-GCM-SHA256");
        OpenSslClient.Result rsaAead = sClient("-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256",
                "-servername", "r.test");
        assertThat(rsaAead.cipher()).as("%s", rsaAead).isEqualTo("ECDHE-RSA-AES128-GCM-SHA256");
    }

    @Test
    void aTls13SessionTicketResumes() throws Exception {
        assertResumes("-tls1_3");
    }

    @Test
    void aTls12SessionTicketResumes() throws Exception {
        assertResumes("-tls1_2");
    }

    /** Without tickets a TLS 1.2 client resumes by session id, from the server's session cache. */
    @Test
    void aTls12SessionIdResumes() throws Exception {
        assertResumes("-tls1_2", "-no_ticket");
    }

    /** A full handshake, its session saved, then a second connection offering it: "Reused", same protocol. */
    private void assertResumes(String... options) throws Exception {
        Path session = dir.resolve("session-" + String.join("", options));
        OpenSslClient.Result first = sClient(concat(options, "-servername", "b.test", "-sess_out", session.toString()));
        assertThat(first.handshakeDone()).as("%s", first).isTrue();
        assertThat(first.reused()).as("%s", first).isFalse();
        assertThat(first.output()).as("the gateway answered over it").contains("HTTP/1.1 200 ");

        OpenSslClient.Result second = sClient(concat(options, "-servername", "b.test", "-sess_in", session.toString()));

        assertThat(second.reused()).as("resumed: %s", second).isTrue();
        assertThat(second.protocol()).isEqualTo(first.protocol());
        assertThat(second.output()).contains("HTTP/1.1 200 ");
    }

    private X509Certificate certificateFor(String... sni) throws Exception {
        OpenSslClient.Result result = sClient(sni);
        assertThat(result.handshakeDone()).as("%s", result).isTrue();
        X509Certificate certificate = result.serverCertificate();
        assertThat(certificate).as("the server's certificate in %s", result).isNotNull();
        return certificate;
    }

    /** s_client against the gateway: an HTTP request, read until the gateway closes. */
    private OpenSslClient.Result sClient(String... options) throws Exception {
        OpenSslClient.Result result = OpenSslClient.run(fixture.address(), OpenSslClient.request("a.test", "/hello"),
                concat(options, "-ign_eof"));
        // Once s_client has gone, whether it finished a handshake or was refused, the gateway holds nothing of it.
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(fixture.gateway().inboundMeters().active()).as("connections left open").isZero());
        return result;
    }

    private static String[] concat(String[] first, String... more) {
        String[] all = Arrays.copyOf(first, first.length + more.length);
        System.arraycopy(more, 0, all, first.length, more.length);
        return all;
    }
}
