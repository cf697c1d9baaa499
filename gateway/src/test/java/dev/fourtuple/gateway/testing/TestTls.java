package dev.fourtuple.gateway.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.net.ssl.SSLContext;

/**
 * One test CA and one certificate for {@code localhost} per test JVM, shared by every TLS fixture: clients that
 * trust {@link #clientContext()} verify the gateway's certificate and host name for real (no switch turns the
 * check off). Made on first use; the files live in a temporary folder removed at exit.
 */
public final class TestTls {
    /** The host name TLS clients use in URIs: the certificate names it (TestCa issues DNS names only). */
    public static final String HOST = "localhost";

    private static volatile Material material;

    private record Material(TestCa ca, TestCa.Issued localhost, SSLContext client) {
    }

    private TestTls() {
    }

    public static TestCa ca() {
        return material().ca();
    }

    /** The chain and key files for {@code localhost} the TLS fixtures serve. */
    public static TestCa.Issued localhost() {
        return material().localhost();
    }

    /** A JDK client context that trusts the test CA only. */
    public static SSLContext clientContext() {
        return material().client();
    }

    /** {@code tls { certificates = [ ... ] }} of the localhost certificate, plus {@code extra} tls keys. */
    public static String tlsBlock(String extra) {
        TestCa.Issued issued = localhost();
        return "tls { certificates = [ { cert = \"" + issued.cert() + "\", key = \"" + issued.key() + "\" } ]"
                + (extra.isBlank() ? "" : ", " + extra) + " }";
    }

    private static Material material() {
        Material m = material;
        if (m == null) {
            synchronized (TestTls.class) {
                m = material;
                if (m == null) {
                    m = create();
                    material = m;
                }
            }
        }
        return m;
    }

    private static Material create() {
        try {
            Path dir = Files.createTempDirectory("fourtuple-tls-");
            TestCa ca = TestCa.create("fourtuple test root");
            TestCa.Issued issued = ca.issue(dir, "localhost", HOST);
            dir.toFile().deleteOnExit();
            issued.cert().toFile().deleteOnExit();
            issued.key().toFile().deleteOnExit();
            return new Material(ca, issued, ca.clientContext());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
