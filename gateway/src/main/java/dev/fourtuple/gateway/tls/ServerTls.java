package dev.fourtuple.gateway.tls;

import dev.fourtuple.gateway.config.TlsSettings;
import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.DomainWildcardMappingBuilder;
import io.netty.util.Mapping;
import io.netty.util.ReferenceCountUtil;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS termination on one listener: its certificates, checked and mapped by SNI name; its engine contexts;
 * its session-ticket keys; and the handlers a new connection starts with. A reload {@linkplain #prepare
 * prepares} new contexts from the files (nothing changes when that fails: the message names the file) and
 * {@linkplain #apply applies} them: connections already open keep the engine they have, new ones get the
 * new certificates; the ticket keys stay, so tickets issued before the reload still resume.
 *
 * <p>Pipeline of a new connection, ahead of HTTP: {@code [tls: SniHandler, then SslHandler] → [handshake:
 * HandshakeWatcher]}; the watcher removes itself when the handshake ends, so an established connection carries
 * nothing of TLS but its SslHandler and engine.
 */
public final class ServerTls implements Mapping<String, SslContext> {
    /** Pipeline name of the TLS handler (the SNI handler first, then the SslHandler in its place). */
    public static final String HANDLER = "tls";
    static final String WATCHER = "handshake";
    private static final Logger log = LoggerFactory.getLogger(ServerTls.class);
    /**
     * The longest ClientHello read before the certificate is chosen (Netty's default is 16 MiB): a large
     * modern one (post-quantum key shares, many extensions) is a few KB; RFC 8446 §4.1.2 bounds nothing less.
     */
    static final int MAX_CLIENT_HELLO = 32 * 1024;
    /** TLS 1.3's cipher suites (RFC 8446 §9.1, all AEAD), added whenever TLSv1.3 is enabled. */
    private static final List<String> TLS13_SUITES = List.of(
            "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256");
    /** ALPN (RFC 7301): only what the gateway speaks; a client offering only h2 gets no ALPN and HTTP/1.1. */
    private static final ApplicationProtocolConfig ALPN = new ApplicationProtocolConfig(
            ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
            ApplicationProtocolNames.HTTP_1_1);

    private final String listener;
    private final TlsMeters meters;
    private final SessionTicketKeys tickets;
    private volatile Contexts contexts;
    /** The gates of this listener's sockets: a reload that changes the maximum re-evaluates each. */
    private final List<HandshakeGate> gates = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** What {@link #prepare} made: contexts ready to serve, not yet serving. */
    public static final class Contexts {
        private final TlsSettings settings;
        private final SslProvider provider;
        private final List<CertificateBundle> bundles;
        private final List<SslContext> all;
        private final Mapping<String, SslContext> byName;
        /** Set once applied: a reload that changes nothing hands the serving contexts back, and they stay. */
        private volatile boolean serving;

        private Contexts(TlsSettings settings, SslProvider provider, List<CertificateBundle> bundles,
                List<SslContext> all, Mapping<String, SslContext> byName) {
            this.settings = settings;
            this.provider = provider;
            this.bundles = bundles;
            this.all = all;
            this.byName = byName;
        }

        /** Frees contexts that will not serve (a reload refused for another reason); never those serving. */
        public void discard() {
            if (!serving) {
                all.forEach(ReferenceCountUtil::release);
            }
        }

        /** Whether these are the same certificates, read from the same files, with the same settings. */
        boolean sameAs(TlsSettings otherSettings, List<CertificateBundle> otherBundles) {
            if (!settings.equals(otherSettings) || bundles.size() != otherBundles.size()) {
                return false;
            }
            for (int i = 0; i < bundles.size(); i++) {
                if (!bundles.get(i).sameMaterial(otherBundles.get(i))) {
                    return false;
                }
            }
            return true;
        }
    }

    private ServerTls(String listener, TlsMeters meters, SessionTicketKeys tickets, Contexts contexts) {
        this.listener = listener;
        this.meters = meters;
        this.tickets = tickets;
        this.contexts = contexts;
    }

    /**
     * Reads and checks the certificates and builds the contexts.
     *
     * @throws IllegalArgumentException naming the file and the config line, when a certificate or key is bad
     * @throws IllegalStateException    when {@code provider = openssl} and it does not load
     */
    public static ServerTls start(String listener, TlsSettings settings, TlsMeters meters) {
        SessionTicketKeys tickets = new SessionTicketKeys(settings.ticketKeyRotation());
        Contexts contexts = build(listener, settings, tickets, loadAll(settings));
        contexts.serving = true;
        log.info("tls on {}: {} engine, {}, certificates {}", listener, TlsEngine.describe(contexts.provider),
                settings.protocols(), names(contexts.bundles));
        return new ServerTls(listener, meters, tickets, contexts);
    }

    /**
     * Reads and checks the certificates and builds the contexts as {@link #start} would, then frees them
     * ({@code fourtuple check}).
     *
     * @throws IllegalArgumentException naming the file and the config line, when a certificate or key is bad
     */
    public static void check(String listener, TlsSettings settings) {
        build(listener, settings, new SessionTicketKeys(settings.ticketKeyRotation()), loadAll(settings)).discard();
    }

    /**
     * Builds new contexts from the files as they are now, for {@link #apply}; nothing changes yet.
     *
     * @throws IllegalArgumentException naming the file when a certificate or key is bad
     */
    public Contexts prepare(TlsSettings next) {
        Contexts current = contexts;
        List<CertificateBundle> bundles = loadAll(next); // checked even when unchanged: the files may be gone
        if (current.sameAs(next, bundles)) {
            // Nothing to change: keep the contexts, and with them the TLS 1.2 session-id cache, which a new
            // context would start empty (tickets survive either way: the keys are the listener's).
            return current;
        }
        return build(listener, next, tickets, bundles);
    }

    /** New connections get the prepared contexts from now on; open ones keep their engines. */
    public synchronized void apply(Contexts next) {
        Contexts old = contexts;
        if (next == old) {
            return;
        }
        next.all.forEach(tickets::applyTo); // a rotation since prepare() went to the old contexts only
        next.serving = true;
        contexts = next;
        old.serving = false;
        old.discard(); // each engine holds its own reference: open connections are not affected
        gates.forEach(HandshakeGate::notifyChanged);
        log.info("tls on {}: certificates {}", listener, names(next.bundles));
    }

    /** Frees the contexts at stop (engines still open hold their own references). */
    public void close() {
        Contexts current = contexts;
        current.serving = false;
        current.discard();
    }

    /** Makes a new ticket key when the last is {@code ticket-key-rotation} old. Called from a periodic task. */
    public synchronized void rotateTicketKeysIfDue(long nowNanos) {
        if (tickets.rotateIfDue(nowNanos)) {
            Contexts current = contexts;
            current.all.forEach(tickets::applyTo);
            log.debug("tls on {}: new session-ticket key", listener);
        }
    }

    /** The gate for one listening socket of this listener ({@code max-concurrent-handshakes}, times loops with NIO). */
    public dev.fourtuple.gateway.admission.AcceptGate newGate(int loopsPerSocket) {
        HandshakeGate gate = new HandshakeGate(() -> contexts.settings.maxConcurrentHandshakes() * loopsPerSocket);
        gates.add(gate);
        return gate;
    }

    /** Adds the TLS handlers at the head of a new connection's pipeline. */
    public void addTo(Channel channel) {
        TlsSettings settings = contexts.settings;
        ChannelPipeline pipeline = channel.pipeline();
        pipeline.addFirst(WATCHER, new HandshakeWatcher(meters, HandshakeGate.of(channel)));
        pipeline.addFirst(HANDLER, new SniSelector(this, MAX_CLIENT_HELLO, settings.handshakeTimeout().toMillis()));
    }

    /** The context for an SNI name (RFC 6066 §3): exact SAN match, then wildcard, else the first certificate. */
    @Override
    public SslContext map(@Nullable String serverName) {
        return contexts.byName.map(serverName);
    }

    public String listener() {
        return listener;
    }

    public SslProvider provider() {
        return contexts.provider;
    }

    public TlsSettings settings() {
        return contexts.settings;
    }

    /** The certificates serving now, in config order. */
    List<CertificateBundle> certificates() {
        return contexts.bundles;
    }

    /** Name, expiry and file of each certificate serving now, for /status. */
    public List<String> describeCertificates() {
        List<String> lines = new ArrayList<>();
        for (CertificateBundle bundle : contexts.bundles) {
            lines.add(bundle.name() + " " + bundle.dnsNames() + " until " + bundle.notAfter() + " ("
                    + bundle.files().cert() + ")");
        }
        return lines;
    }

    /** Reads and checks every certificate of the settings; warns of those expiring soon. */
    private static List<CertificateBundle> loadAll(TlsSettings settings) {
        Instant now = Instant.now();
        List<CertificateBundle> bundles = new ArrayList<>();
        for (TlsSettings.CertificateFiles files : settings.certificates()) {
            CertificateBundle bundle = CertificateBundle.load(files, now);
            if (bundle.remaining(now).compareTo(CertificateBundle.EXPIRY_WARNING) < 0) {
                log.warn("{}: {}: certificate {} expires on {}, in less than {} days", files.location(),
                        files.cert(), bundle.name(), bundle.notAfter(), CertificateBundle.EXPIRY_WARNING.toDays());
            }
            bundles.add(bundle);
        }
        return bundles;
    }

    private static Contexts build(String listener, TlsSettings settings, SessionTicketKeys tickets,
            List<CertificateBundle> bundles) {
        SslProvider provider = TlsEngine.select(settings.provider());
        // Certificates for the same names (an ECDSA and an RSA one side by side) share a context (known gap: a
        // TLS 1.2 client offering one key exchange only gets NO_SHARED_CIPHER from BoringSSL here): the engine
        // picks the key type the client can verify (RFC 8446 §4.4.2.2, signature_algorithms).
        Map<List<String>, List<CertificateBundle>> byNames = new LinkedHashMap<>();
        for (CertificateBundle bundle : bundles) {
            byNames.computeIfAbsent(bundle.dnsNames().isEmpty() ? List.of("\0" + bundle.name()) : bundle.dnsNames(),
                    k -> new ArrayList<>()).add(bundle);
        }
        List<SslContext> all = new ArrayList<>();
        try {
            SslContext first = null;
            DomainWildcardMappingBuilder<SslContext> mapping = null;
            java.util.Set<String> mapped = new java.util.HashSet<>();
            for (List<CertificateBundle> group : byNames.values()) {
                SslContext context = context(group, settings, provider);
                all.add(context);
                tickets.applyTo(context);
                if (first == null) {
                    first = context;
                    mapping = new DomainWildcardMappingBuilder<>(first);
                }
                for (String name : group.get(0).dnsNames()) {
                    if (mapped.add(name)) { // a name two certificates cover goes to the first in the config
                        mapping.add(name, context);
                    }
                }
            }
            if (mapping == null) {
                throw new IllegalArgumentException(listener + ": tls.certificates: at least one certificate");
            }
            return new Contexts(settings, provider, List.copyOf(bundles), List.copyOf(all), mapping.build());
        } catch (RuntimeException e) {
            all.forEach(ReferenceCountUtil::release);
            throw e;
        }
    }

    private static SslContext context(List<CertificateBundle> group, TlsSettings settings, SslProvider provider) {
        CertificateBundle first = group.get(0);
        SslContextBuilder builder = group.size() == 1
                ? SslContextBuilder.forServer(first.key(), first.chain())
                : SslContextBuilder.forServer(provider == SslProvider.JDK ? keyManagers(group)
                        // Cached material: without it BoringSSL gets the key and chain re-encoded per handshake.
                        : new io.netty.handler.ssl.OpenSslCachingX509KeyManagerFactory(keyManagers(group)));
        List<String> ciphers = new ArrayList<>(settings.ciphers());
        if (settings.protocols().contains("TLSv1.3")) {
            ciphers.addAll(TLS13_SUITES);
        }
        try {
            return builder.sslProvider(provider)
                    .protocols(settings.protocols())
                    .ciphers(ciphers, IdentityCipherSuiteFilter.INSTANCE)
                    .clientAuth(ClientAuth.NONE)
                    .applicationProtocolConfig(ALPN)
                    .sessionCacheSize(settings.sessionCacheSize())
                    .sessionTimeout(settings.sessionTimeout().toSeconds())
                    .build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException(first.files().location() + ": " + first.files().cert()
                    + ": the TLS engine refused it with tls.protocols " + settings.protocols() + " and tls.ciphers: "
                    + e.getMessage(), e);
        }
    }

    private static KeyManagerFactory keyManagers(List<CertificateBundle> group) {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            char[] none = new char[0];
            for (int i = 0; i < group.size(); i++) {
                store.setKeyEntry("key" + i, group.get(i).key(), none, group.get(i).chain());
            }
            KeyManagerFactory factory = KeyManagerFactory.getInstance("SunX509");
            factory.init(store, none);
            return factory;
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new IllegalArgumentException(group.get(0).files().location() + ": " + e.getMessage(), e);
        }
    }

    private static List<String> names(List<CertificateBundle> bundles) {
        return bundles.stream().map(CertificateBundle::name).toList();
    }
}
