package dev.fourtuple.gateway.integration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.testing.ListenerKind;
import dev.fourtuple.gateway.testing.OpenSslClient;
import dev.fourtuple.gateway.testing.TestCa;
import dev.fourtuple.gateway.testing.TestCa.Issued;
import dev.fourtuple.gateway.transport.TransportKind;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A reload (what SIGHUP does: the config read again and applied in process) keeps TLS sessions resumable, so a
 * reload costs no client a full handshake (reference.conf, tls-defaults.ticket-key-rotation), and serves
 * certificate files renewed in place from the next handshake on. The OpenSSL engine, whose ticket keys the
 * gateway owns; seen by {@code openssl s_client}. Over every transport.
 */
@ParameterizedClass
@EnumSource(TransportKind.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TlsReloadIntegrationTest {
    @Parameter
    TransportKind transport;

    @RegisterExtension
    final Closer closer = new Closer();
    @TempDir
    Path dir;

    private TestCa ca;
    private Issued a;
    private GatewayFixture fixture;

    @BeforeEach
    void start() throws Exception {
        ca = TestCa.create("reload root");
        a = ca.issue(dir, "a", "a.test");
        String listeners = "listeners = [ { name = https, listen = \"127.0.0.1:0\", tls { provider = openssl, "
                + "certificates = [ { cert = \"" + a.cert() + "\", key = \"" + a.key() + "\" } ] } } ]";
        fixture = closer.track(GatewayFixture.withListeners(transport, ListenerKind.TLS, listeners, 1, backends ->
                "clusters { echo { backends = " + GatewayFixture.backendList(backends) + " } }\n"
                        + "routes = [ { cluster = echo } ]\n"));
    }

    @Test
    void aTls13TicketFromBeforeAReloadResumesAfterIt() throws Exception {
        assertResumesAcrossReload("-tls1_3");
    }

    @Test
    void aTls12TicketFromBeforeAReloadResumesAfterIt() throws Exception {
        assertResumesAcrossReload("-tls1_2");
    }

    @Test
    void aTls12SessionIdFromBeforeAReloadResumesAfterIt() throws Exception {
        assertResumesAcrossReload("-tls1_2", "-no_ticket");
    }

    /**
     * The certificate files are replaced (a renewal) and the config reloaded: new handshakes get the new
     * certificate, and a ticket issued with the old one still resumes.
     */
    @Test
    void aCertificateRenewedInPlaceIsServedAfterAReload() throws Exception {
        Path session = dir.resolve("session");
        OpenSslClient.Result before = sClient("-tls1_3", "-sess_out", session.toString());
        assertThat(before.serverCertificate()).as("%s", before).isEqualTo(a.certificate());

        Issued renewed = ca.issue(dir, "a", "a.test"); // same files, new certificate and key
        assertThat(renewed.serial()).isNotEqualTo(a.serial());
        fixture.reload(fixture.configText());

        OpenSslClient.Result fresh = sClient("-tls1_3");
        assertThat(fresh.reused()).isFalse();
        assertThat(fresh.serverCertificate()).as("after the reload: %s", fresh).isEqualTo(renewed.certificate());
        OpenSslClient.Result resumed = sClient("-tls1_3", "-sess_in", session.toString());
        assertThat(resumed.reused()).as("a ticket from before the renewal: %s", resumed).isTrue();
    }

    private void assertResumesAcrossReload(String... options) throws Exception {
        Path session = dir.resolve("session");
        OpenSslClient.Result first = sClient(concat(options, "-sess_out", session.toString()));
        assertThat(first.handshakeDone()).as("%s", first).isTrue();
        assertThat(first.reused()).isFalse();
        OpenSslClient.Result beforeReload = sClient(concat(options, "-sess_in", session.toString()));
        assertThat(beforeReload.reused()).as("resumed before any reload: %s", beforeReload).isTrue();

        fixture.reload(fixture.configText());

        OpenSslClient.Result afterReload = sClient(concat(options, "-sess_in", session.toString()));
        assertThat(afterReload.reused()).as("resumed after the reload: %s", afterReload).isTrue();
        assertThat(afterReload.output()).contains("HTTP/1.1 200 ");
    }

    /** s_client against the gateway: an HTTP request, read until the gateway closes. */
    private OpenSslClient.Result sClient(String... options) throws Exception {
        OpenSslClient.Result result = OpenSslClient.run(fixture.address(), OpenSslClient.request("a.test", "/hello"),
                concat(options, "-servername", "a.test", "-ign_eof"));
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
