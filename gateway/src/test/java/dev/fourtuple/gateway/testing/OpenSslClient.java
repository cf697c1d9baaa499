package dev.fourtuple.gateway.testing;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * {@code openssl s_client} (Debian package {@code openssl}) as a TLS client that offers exactly what a test
 * asks for (old protocol versions, weak cipher suites, saved sessions), run to completion within a bounded
 * time, its output parsed. Each run writes {@code stdin} (e.g. an HTTP request) and closes it; with
 * {@code -ign_eof} it then reads until the server closes, so TLS 1.3 session tickets (sent after the
 * handshake) are received before {@code -sess_out} saves the session.
 */
public final class OpenSslClient {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final Pattern SESSION = Pattern.compile("(?m)^(New|Reused), (\\S+), Cipher is (\\S+)");
    private static final Pattern PROTOCOL = Pattern.compile("(?m)^\\s+Protocol\\s*:\\s*(\\S+)");
    private static final Pattern CERTIFICATE = Pattern.compile(
            "-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----");

    private OpenSslClient() {
    }

    /** One s_client run: its exit code and everything it printed (stdout and stderr). */
    public record Result(int exitCode, String output) {
        /** True when s_client finished a handshake (a cipher was agreed). */
        public boolean handshakeDone() {
            Matcher m = SESSION.matcher(output);
            return m.find() && !m.group(3).equals("(NONE)");
        }

        /** True when the first handshake summary says {@code Reused}: the session was resumed. */
        public boolean reused() {
            Matcher m = SESSION.matcher(output);
            return m.find() && m.group(1).equals("Reused");
        }

        /** The negotiated protocol ({@code TLSv1.3}), or null without a handshake. */
        public @Nullable String protocol() {
            Matcher m = PROTOCOL.matcher(output);
            return handshakeDone() && m.find() ? m.group(1) : null;
        }

        /** The negotiated cipher suite (OpenSSL's name), or null without a handshake. */
        public @Nullable String cipher() {
            Matcher m = SESSION.matcher(output);
            return m.find() && !m.group(3).equals("(NONE)") ? m.group(3) : null;
        }

        /** The leaf certificate the server sent, or null when it sent none. */
        public @Nullable X509Certificate serverCertificate() {
            Matcher m = CERTIFICATE.matcher(output);
            if (!m.find()) {
                return null;
            }
            try {
                return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(
                        new ByteArrayInputStream(m.group().getBytes(StandardCharsets.US_ASCII)));
            } catch (CertificateException e) {
                throw new IllegalStateException("s_client printed a certificate that does not parse", e);
            }
        }

        @Override
        public String toString() {
            return "s_client exit " + exitCode + ":\n" + output;
        }
    }

    /**
     * Runs {@code openssl s_client -connect HOST:PORT ARGS...}, writes {@code stdin} and closes it, and waits for
     * the exit (at most 10 s; then the process is killed and the run fails: a client left hanging is not a
     * refusal).
     */
    public static Result run(InetSocketAddress server, String stdin, String... args)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("openssl", "s_client", "-connect",
                server.getAddress().getHostAddress() + ":" + server.getPort()));
        command.addAll(List.of(args));
        Path output = Files.createTempFile("s_client-", ".txt");
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(output.toFile()).start();
            try (OutputStream in = process.getOutputStream()) {
                in.write(stdin.getBytes(StandardCharsets.ISO_8859_1));
            } catch (IOException e) {
                // s_client may already have exited (a refused handshake): its output says why.
            }
            if (!process.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                throw new AssertionError(String.join(" ", command) + " did not finish within " + TIMEOUT
                        + ":\n" + Files.readString(output));
            }
            return new Result(process.exitValue(), Files.readString(output));
        } finally {
            Files.deleteIfExists(output);
        }
    }

    /** An HTTP/1.1 request that asks the server to close after its response (so {@code -ign_eof} runs end). */
    public static String request(String host, String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
    }
}
