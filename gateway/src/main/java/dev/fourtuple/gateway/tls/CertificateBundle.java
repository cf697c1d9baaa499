package dev.fourtuple.gateway.tls;

import dev.fourtuple.gateway.config.TlsSettings;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One certificate as its files hold it, checked: the chain parses and is in order (each certificate signed by
 * the next), the key is the leaf's, none has expired. Its DNS names (SubjectAltName) are what SNI is matched
 * against. Every problem is an {@link IllegalArgumentException} whose message names the file and the config
 * line that names it.
 */
record CertificateBundle(String name, X509Certificate[] chain, PrivateKey key, List<String> dnsNames,
        Instant notAfter, TlsSettings.CertificateFiles files) {
    /** A certificate this close to its end is a warning at start and reload. */
    static final Duration EXPIRY_WARNING = Duration.ofDays(14);

    private static final Pattern PEM_KEY = Pattern.compile(
            "-----BEGIN ([A-Z ]*)PRIVATE KEY-----(.*?)-----END \\1PRIVATE KEY-----", Pattern.DOTALL);
    private static final int DNS_NAME = 2; // GeneralName tag of a dNSName (RFC 5280 §4.2.1.6)

    /** Reads and checks the files as of {@code now}. */
    static CertificateBundle load(TlsSettings.CertificateFiles files, Instant now) {
        X509Certificate[] chain = readChain(files);
        PrivateKey key = readKey(files);
        X509Certificate leaf = chain[0];
        if (!keyMatches(key, leaf.getPublicKey())) {
            throw problem(files, files.key() + ": this key is not the one of the certificate in " + files.cert());
        }
        for (int i = 0; i < chain.length; i++) {
            X509Certificate certificate = chain[i];
            if (certificate.getNotAfter().toInstant().isBefore(now)) {
                throw problem(files, files.cert() + ": certificate " + (i + 1) + " of the chain ("
                        + certificate.getSubjectX500Principal().getName() + ") expired on "
                        + certificate.getNotAfter().toInstant());
            }
            if (i + 1 < chain.length) {
                X509Certificate issuer = chain[i + 1];
                if (!certificate.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())
                        || !signedBy(certificate, issuer.getPublicKey())) {
                    throw problem(files, files.cert() + ": the chain is not in order: certificate " + (i + 1) + " ("
                            + certificate.getSubjectX500Principal().getName() + ") is not signed by certificate "
                            + (i + 2) + " (" + issuer.getSubjectX500Principal().getName()
                            + "); the leaf comes first, then each issuer");
                }
            }
        }
        List<String> names = dnsNames(leaf);
        String name = names.isEmpty() ? leaf.getSubjectX500Principal().getName() : names.get(0);
        return new CertificateBundle(name, chain, key, names, leaf.getNotAfter().toInstant(), files);
    }

    /** Whether the other holds the same chain and key (a reload of files that did not change). */
    boolean sameMaterial(CertificateBundle other) {
        return java.util.Arrays.equals(chain, other.chain)
                && java.util.Arrays.equals(key.getEncoded(), other.key.getEncoded());
    }

    /** Time left until the leaf expires. */
    Duration remaining(Instant now) {
        return Duration.between(now, notAfter);
    }

    private static X509Certificate[] readChain(TlsSettings.CertificateFiles files) {
        byte[] pem = read(files, files.cert());
        try {
            Collection<? extends java.security.cert.Certificate> parsed = CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(pem));
            if (parsed.isEmpty()) {
                throw problem(files, files.cert() + ": no PEM certificate in it");
            }
            return parsed.stream().map(X509Certificate.class::cast).toArray(X509Certificate[]::new);
        } catch (GeneralSecurityException e) {
            throw problem(files, files.cert() + ": not a PEM certificate chain (" + e.getMessage() + ")");
        }
    }

    private static PrivateKey readKey(TlsSettings.CertificateFiles files) {
        String pem = new String(read(files, files.key()), StandardCharsets.US_ASCII);
        Matcher m = PEM_KEY.matcher(pem);
        if (!m.find()) {
            throw problem(files, files.key() + ": no PEM private key in it");
        }
        if (!m.group(1).isEmpty()) {
            throw problem(files, files.key() + ": a \"" + m.group(1).trim() + " PRIVATE KEY\"; the key must be "
                    + "PKCS#8 (\"BEGIN PRIVATE KEY\"): openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pkcs8");
        }
        byte[] der = Base64.getMimeDecoder().decode(m.group(2));
        for (String algorithm : List.of("EC", "RSA", "Ed25519")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw problem(files, files.key() + ": not an EC, RSA or Ed25519 PKCS#8 key");
    }

    /** Signs a random challenge with the key and verifies it with the certificate's public key. */
    private static boolean keyMatches(PrivateKey key, PublicKey certificateKey) {
        String algorithm = switch (key.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            default -> key.getAlgorithm();
        };
        try {
            byte[] challenge = new byte[32];
            new SecureRandom().nextBytes(challenge);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(challenge);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certificateKey);
            verifier.update(challenge);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false; // a key of another type than the certificate's
        }
    }

    private static boolean signedBy(X509Certificate certificate, PublicKey issuer) {
        try {
            certificate.verify(issuer);
            return true;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static List<String> dnsNames(X509Certificate leaf) {
        List<String> names = new ArrayList<>();
        try {
            Collection<List<?>> alternatives = leaf.getSubjectAlternativeNames();
            if (alternatives != null) {
                for (List<?> entry : alternatives) {
                    if (entry.size() >= 2 && Integer.valueOf(DNS_NAME).equals(entry.get(0))) {
                        names.add(((String) entry.get(1)).toLowerCase(Locale.ROOT));
                    }
                }
            }
        } catch (GeneralSecurityException e) {
            // no names: it can still serve clients without SNI
        }
        return names;
    }

    private static byte[] read(TlsSettings.CertificateFiles files, java.nio.file.Path path) {
        try {
            return Files.readAllBytes(path);
        } catch (IOException e) {
            throw problem(files, path + ": cannot read it (" + e + ")");
        }
    }

    private static IllegalArgumentException problem(TlsSettings.CertificateFiles files, String what) {
        return new IllegalArgumentException(files.location() + ": " + what);
    }
}
