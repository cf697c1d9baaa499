package dev.fourtuple.gateway.testing;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A certificate authority made in the test: a self-signed root, and leaf certificates it issues for the DNS
 * names a test asks for (ECDSA P-256 or RSA 2048), written as PEM files the gateway reads: the chain and a
 * PKCS#8 key. Clients trust the root through {@link #clientContext()} or {@link #trustStore()}.
 */
public final class TestCa {
    private static final AtomicLong SERIALS = new AtomicLong(System.currentTimeMillis());

    private final KeyPair keys;
    private final X509Certificate root;
    private final X500Name name;
    /** The certificates a leaf's chain carries above the leaf: this CA's own when it is an intermediate. */
    private final List<X509Certificate> above;

    /** A key kind for a leaf. */
    public enum KeyKind { EC, RSA }

    /** A leaf certificate and where its files are. */
    public record Issued(X509Certificate certificate, Path cert, Path key) {
        public BigInteger serial() {
            return certificate.getSerialNumber();
        }
    }

    private TestCa(String commonName, KeyPair keys, X509Certificate root, List<X509Certificate> above) {
        this.keys = keys;
        this.root = root;
        this.name = new X500Name("CN=" + commonName);
        this.above = List.copyOf(above);
    }

    /** A new root, valid from a day ago for a year. */
    public static TestCa create(String commonName) {
        try {
            KeyPair keys = generate(KeyKind.EC);
            X500Name name = new X500Name("CN=" + commonName);
            Instant now = Instant.now();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, nextSerial(),
                    Date.from(now.minus(Duration.ofDays(1))), Date.from(now.plus(Duration.ofDays(365))), name,
                    keys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                    .addExtension(Extension.keyUsage, true,
                            new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature));
            X509Certificate root = sign(builder, keys.getPrivate());
            return new TestCa(commonName, keys, root, List.of());
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** An intermediate CA issued by this one: its leaves' files carry the chain leaf, intermediate. */
    public TestCa intermediate(String commonName) {
        try {
            KeyPair intermediateKeys = generate(KeyKind.EC);
            Instant now = Instant.now();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, nextSerial(),
                    Date.from(now.minus(Duration.ofDays(1))), Date.from(now.plus(Duration.ofDays(365))),
                    new X500Name("CN=" + commonName), intermediateKeys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true,
                            new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature));
            X509Certificate certificate = sign(builder, keys.getPrivate());
            List<X509Certificate> chain = new ArrayList<>(List.of(certificate));
            chain.addAll(above);
            return new TestCa(commonName, intermediateKeys, root, chain);
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public X509Certificate root() {
        return root;
    }

    /** Issues an EC leaf for {@code dnsNames}, valid for 90 days, written as {@code dir/FILE.pem} and {@code .key}. */
    public Issued issue(Path dir, String file, String... dnsNames) {
        return issue(dir, file, KeyKind.EC, Duration.ofDays(90), dnsNames);
    }

    /**
     * Issues a leaf valid from a day ago until {@code validFor} from now (negative: already expired), its files
     * {@code dir/FILE.pem} (the leaf, then the intermediates above it; never the root) and
     * {@code dir/FILE.key} (PKCS#8).
     */
    public Issued issue(Path dir, String file, KeyKind kind, Duration validFor, String... dnsNames) {
        try {
            KeyPair leafKeys = generate(kind);
            Instant now = Instant.now();
            Instant notBefore = validFor.isNegative() ? now.minus(Duration.ofDays(30)) : now.minus(Duration.ofDays(1));
            List<GeneralName> names = new ArrayList<>();
            for (String dns : dnsNames) {
                names.add(new GeneralName(GeneralName.dNSName, dns));
            }
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, nextSerial(),
                    Date.from(notBefore), Date.from(now.plus(validFor)),
                    new X500Name("CN=" + (dnsNames.length > 0 ? dnsNames[0] : file)), leafKeys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            if (!names.isEmpty()) {
                builder.addExtension(Extension.subjectAlternativeName, false,
                        new GeneralNames(names.toArray(GeneralName[]::new)));
            }
            X509Certificate leaf = sign(builder, keys.getPrivate());
            Path cert = dir.resolve(file + ".pem");
            Path key = dir.resolve(file + ".key");
            StringBuilder chain = new StringBuilder(pem(leaf));
            for (X509Certificate issuer : above) {
                chain.append(pem(issuer));
            }
            Files.writeString(cert, chain.toString());
            Files.writeString(key, pem(leafKeys.getPrivate()));
            return new Issued(leaf, cert, key);
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes the root as PEM to {@code file}, for clients that read a CA file (curl, openssl, a cluster's ca). */
    public Path writeRoot(Path file) {
        try {
            Files.writeString(file, pem(root));
            return file;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A key store that trusts this root only. */
    public KeyStore trustStore() {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setCertificateEntry("test-ca", root);
            return store;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A client SSLContext (JDK) that trusts this root only. */
    public SSLContext clientContext() {
        try {
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(trustStore());
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static KeyPair generate(KeyKind kind) throws GeneralSecurityException {
        if (kind == KeyKind.RSA) {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            return generator.generateKeyPair();
        }
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        return generator.generateKeyPair();
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey issuer)
            throws GeneralSecurityException {
        try {
            return new JcaX509CertificateConverter().getCertificate(
                    builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuer)));
        } catch (org.bouncycastle.operator.OperatorCreationException e) {
            throw new GeneralSecurityException(e);
        }
    }

    private static BigInteger nextSerial() {
        return BigInteger.valueOf(SERIALS.incrementAndGet());
    }

    /** PEM of a certificate or a key; a private key is written as PKCS#8 ("BEGIN PRIVATE KEY"). */
    static String pem(Object object) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            writer.writeObject(object instanceof PrivateKey key
                    ? new org.bouncycastle.util.io.pem.PemObject("PRIVATE KEY", key.getEncoded()) : object);
        }
        return out.toString();
    }
}
