package dev.fourtuple.gateway.config;

/**
 * The {@code tls.provider} setting: which TLS engine terminates. {@code auto} takes OpenSSL (BoringSSL through
 * netty-tcnative) when its native library loads, else the JDK's; naming {@code openssl} when it does not
 * load is an error at start, like naming a transport that does not load.
 */
public enum TlsProvider implements ConfigWord {
    AUTO("auto"), OPENSSL("openssl"), JDK("jdk");

    private final String word;

    TlsProvider(String word) {
        this.word = word;
    }

    @Override
    public String word() {
        return word;
    }
}
