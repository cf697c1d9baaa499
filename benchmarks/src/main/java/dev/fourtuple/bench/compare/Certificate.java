package dev.fourtuple.bench.compare;

import io.netty.handler.ssl.OpenSslSessionContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The one certificate every proxy serves in the TLS rows: ECDSA P-256, self-signed, for {@value #HOST}, made by
 * {@code openssl req} in the run's temporary folder; and the clients that trust it.
 *
 * @param cert     the certificate (PEM)
 * @param key      its key, PKCS#8 PEM ("BEGIN PRIVATE KEY", what {@code openssl req -nodes} writes)
 * @param combined certificate then key in one file (HAProxy's {@code crt})
 */
record Certificate(Path cert, Path key, Path combined) {
    /** The name in the certificate, the clients' SNI and the name they check. */
    static final String HOST = "bench.test";
    static final String PROTOCOL = "TLSv1.3";

    static Certificate generate(Path dir) throws Exception {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        String out = ChildProcess.output(List.of("openssl", "req", "-x509", "-newkey", "ec",
                "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30", "-subj", "/CN=" + HOST,
                "-addext", "subjectAltName=DNS:" + HOST, "-keyout", key.toString(), "-out", cert.toString()));
        if (!Files.exists(cert) || !Files.readString(key).contains("BEGIN PRIVATE KEY")) {
            throw new IllegalStateException("openssl req made no P-256 certificate and PKCS#8 key:\n" + out);
        }
        Path combined = dir.resolve("cert-and-key.pem");
        Files.writeString(combined, Files.readString(cert) + Files.readString(key));
        return new Certificate(cert, key, combined);
    }

    /**
     * A client context on BoringSSL (netty-tcnative; cheaper than the JDK's engine, so the load generator, on
     * the same cores, takes less from the proxy), TLS 1.3 only, trusting this certificate and checking the
     * name. With {@code resume}, its session cache keeps the tickets servers send and offers one on the next
     * connection to the same host and port (a resumed handshake: PSK with (EC)DHE, no certificate, no
     * signature); without, its cache is off and every connection is a full handshake.
     */
    SslContext client(boolean resume) throws Exception {
        SslContext context = SslContextBuilder.forClient()
                .sslProvider(SslProvider.OPENSSL)
                .trustManager(cert.toFile())
                .protocols(PROTOCOL)
                .endpointIdentificationAlgorithm("HTTPS")
                .build();
        ((OpenSslSessionContext) context.sessionContext()).setSessionCacheEnabled(resume);
        return context;
    }
}
