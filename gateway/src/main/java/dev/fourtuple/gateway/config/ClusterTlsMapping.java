package dev.fourtuple.gateway.config;

import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * A cluster's {@code tls { }} (over {@code cluster-defaults.tls}) mapped to a {@link ClusterTls}. The CA file is
 * read here, so that a missing, unreadable or non-PEM file is a config problem at start, on reload and in
 * {@code check}, named by file:line and key like any other.
 */
final class ClusterTlsMapping {
    /** RFC 7468 §2 textual encoding of a certificate. */
    private static final Pattern PEM_CERTIFICATE = Pattern.compile(
            "-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\\s]+)-----END CERTIFICATE-----");
    private static final Pattern HOST_NAME = Pattern.compile("[a-z0-9.-]{1,253}");
    /** A CA bundle larger than this is no CA bundle (the system's own is about 200 KiB). */
    private static final long MAX_CA_FILE = 16L << 20;

    private final List<ConfigProblem> problems;
    private final Path folder;

    ClusterTlsMapping(List<ConfigProblem> problems, Path folder) {
        this.problems = problems;
        this.folder = folder;
    }

    /** The cluster's TLS settings, or null when {@code enabled = false}. */
    @Nullable ClusterTls tls(ConfigSection cluster) {
        ConfigSection tls = cluster.section("tls");
        boolean enabled = tls.bool("enabled");
        String ca = tls.string("ca", "").trim();
        String serverName = tls.string("server-name", "").trim().toLowerCase(Locale.ROOT);
        boolean verify = tls.bool("verify");
        tls.rejectUnknownKeys();
        if (!serverName.isEmpty() && !HOST_NAME.matcher(serverName).matches()) {
            tls.problem("server-name", tls.object().get("server-name"), "\"\" or a DNS host name (RFC 6125 §6.4)");
        }
        if (!enabled) {
            return null;
        }
        ConfigValue caValue = tls.object().get("ca");
        Path caFile = null;
        List<X509Certificate> trusted = List.of();
        if (!ca.isEmpty() && caValue != null) {
            Path path = Path.of(ca);
            caFile = path.isAbsolute() ? path : folder.resolve(path).normalize();
            trusted = read(tls, caValue, caFile);
        }
        ConfigValue own = cluster.object().get("tls");
        String location = own instanceof ConfigObject && cluster.written("tls")
                ? ConfigSection.locate(own.origin()) : cluster.home();
        return new ClusterTls(caFile, trusted, serverName, verify, location);
    }

    /** The certificates of a PEM file; a problem (and none) when it cannot be read or holds none. */
    private List<X509Certificate> read(ConfigSection tls, ConfigValue value, Path file) {
        String text;
        try {
            if (Files.size(file) > MAX_CA_FILE) {
                tls.problem("ca", value, "a PEM file of CA certificates of at most 16 MiB (" + file + " is larger)");
                return List.of();
            }
            text = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException | RuntimeException e) {
            tls.problem("ca", value, "a readable PEM file of CA certificates (" + file + ": " + e + ")");
            return List.of();
        }
        List<X509Certificate> certificates = new ArrayList<>();
        Matcher matcher = PEM_CERTIFICATE.matcher(text);
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            while (matcher.find()) {
                byte[] der = Base64.getMimeDecoder().decode(matcher.group(1));
                certificates.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(der)));
            }
        } catch (CertificateException | IllegalArgumentException e) {
            tls.problem("ca", value, "a PEM file of CA certificates (" + file + ": certificate "
                    + (certificates.size() + 1) + " does not parse: " + e.getMessage() + ")");
            return List.of();
        }
        if (certificates.isEmpty()) {
            tls.problem("ca", value, "a PEM file of CA certificates (" + file
                    + " holds no \"-----BEGIN CERTIFICATE-----\" block)");
        }
        return certificates;
    }
}
