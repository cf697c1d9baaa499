package dev.fourtuple.gateway.config;

import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The {@code listen} / {@code listeners} keys and each listener's {@code tls { }} (over {@code tls-defaults}),
 * mapped to records. Certificate paths are resolved against the config file's folder; the files themselves are
 * read and checked when TLS is set up (start, reload, {@code check}), where a problem names the file.
 */
final class ListenerMapping {
    private static final Duration MS = Duration.ofMillis(1);
    private static final List<String> PROTOCOLS = List.of("TLSv1.2", "TLSv1.3");

    private final List<ConfigProblem> problems;
    private final Path baseDir;

    ListenerMapping(List<ConfigProblem> problems, Path baseDir) {
        this.problems = problems;
        this.baseDir = baseDir;
    }

    /**
     * The listeners: those of {@code listeners = [ ... ]}, or, when it is empty, the one plaintext listener of
     * the top-level {@code listen}. Writing both is a problem (which one would win is not obvious).
     */
    List<ListenerConfig> listeners(ConfigSection root, int backlog) {
        List<ConfigValue> listed = root.list("listeners");
        ConfigValue listen = root.value("listen");
        ConfigObject tlsDefaults = root.section("tls-defaults").object(); // checked in each listener that uses it
        if (listed.isEmpty()) {
            return List.of(new ListenerConfig(ListenerConfig.DEFAULT_NAME, address(root, "listen", listen), backlog, null));
        }
        if (root.written("listen") && listen != null) {
            root.problem("listen", listen, "no top-level listen when listeners = [ ... ] is set: "
                    + "put it in the list");
        }
        List<ListenerConfig> listeners = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < listed.size(); i++) {
            String path = "listeners[" + i + "]";
            ConfigValue value = listed.get(i);
            if (!(value instanceof ConfigObject object)) {
                problems.add(new ConfigProblem(ConfigSection.locate(value.origin()), path, ConfigSection.render(value),
                        "a listener object { listen, tls { ... } }"));
                continue;
            }
            ConfigSection listener = new ConfigSection(object, path, ConfigSection.locate(object.origin()), problems);
            ConfigValue listenValue = listener.value("listen");
            InetSocketAddress address = address(listener, "listen", listenValue);
            String name = listenValue != null && listenValue.valueType() == ConfigValueType.STRING
                    ? (String) listenValue.unwrapped() : path;
            ConfigValue nameValue = listener.optionalValue("name");
            if (nameValue != null) {
                name = listener.string("name", name);
            }
            if (!names.add(name)) {
                listener.problem(nameValue != null ? "name" : "listen", nameValue != null ? nameValue
                        : listenValue != null ? listenValue : object, "a name no other listener has");
            }
            int ownBacklog = listener.optionalValue("backlog") == null ? backlog
                    : listener.integer("backlog", 1, 65535);
            TlsSettings tls = null;
            ConfigValue tlsValue = listener.optionalValue("tls");
            if (tlsValue instanceof ConfigObject tlsObject) {
                tls = tls(new ConfigSection(tlsObject.withFallback(tlsDefaults), path + ".tls",
                        ConfigSection.locate(tlsObject.origin()), problems));
            } else if (tlsValue != null) {
                listener.problem("tls", tlsValue, "an object { certificates = [ ... ] }");
            }
            ProxyProtocolSettings proxyProtocol = proxyProtocol(listener);
            listener.rejectUnknownKeys();
            listeners.add(new ListenerConfig(name, address, ownBacklog, tls, proxyProtocol));
        }
        return listeners;
    }

    /**
     * {@code proxy-protocol}, {@code proxy-protocol-from} and {@code proxy-protocol-timeout}. A header is
     * trusted only from the listed peers (HAProxy's doc/proxy-protocol.txt §5), so a listener that expects one
     * must list at least one.
     */
    private ProxyProtocolSettings proxyProtocol(ConfigSection listener) {
        ProxyProtocolMode mode = listener.optionalValue("proxy-protocol") == null ? ProxyProtocolMode.OFF
                : listener.enumValue("proxy-protocol", ProxyProtocolMode.class, ProxyProtocolMode.OFF);
        List<Cidr> from = new ArrayList<>();
        ConfigValue fromValue = listener.optionalValue("proxy-protocol-from");
        if (fromValue != null) {
            for (ConfigValue value : listener.list("proxy-protocol-from")) {
                Cidr cidr = value.valueType() == ConfigValueType.STRING ? Cidr.parse((String) value.unwrapped()) : null;
                if (cidr == null) {
                    listener.problem("proxy-protocol-from", value,
                            "a list of \"IP/PREFIX\" or \"IP\" blocks, e.g. [\"10.0.0.0/8\", \"fd00::/8\"]");
                } else {
                    from.add(cidr);
                }
            }
        }
        boolean emptyList = fromValue != null && fromValue.valueType() == ConfigValueType.LIST
                && ((List<?>) fromValue.unwrapped()).isEmpty();
        if (mode != ProxyProtocolMode.OFF && (fromValue == null || emptyList)) { // else reported above
            String expected = "at least one block of balancer addresses allowed to send the PROXY header, "
                    + "e.g. [\"10.0.0.0/8\"] (proxy-protocol is " + mode.word() + ")";
            if (fromValue != null) {
                listener.problem("proxy-protocol-from", fromValue, expected);
            } else {
                problems.add(new ConfigProblem(listener.home(), listener.pathOf("proxy-protocol-from"), "(missing)",
                        expected));
            }
        }
        Duration timeout = listener.optionalDuration("proxy-protocol-timeout", MS.multipliedBy(100),
                Duration.ofMinutes(1), false);
        return new ProxyProtocolSettings(mode, from, timeout == null ? ProxyProtocolSettings.OFF.timeout() : timeout);
    }

    private TlsSettings tls(ConfigSection tls) {
        TlsProvider provider = tls.enumValue("provider", TlsProvider.class, TlsProvider.AUTO);
        List<TlsSettings.CertificateFiles> certificates = new ArrayList<>();
        List<ConfigValue> listed = tls.list("certificates");
        if (listed.isEmpty()) {
            ConfigValue value = tls.optionalValue("certificates");
            problems.add(new ConfigProblem(value == null ? tls.home() : ConfigSection.locate(value.origin()),
                    tls.pathOf("certificates"), value == null ? "(missing)" : ConfigSection.render(value),
                    "at least one { cert = \"chain.pem\", key = \"key.pem\" }"));
        }
        for (int i = 0; i < listed.size(); i++) {
            ConfigValue value = listed.get(i);
            String path = tls.pathOf("certificates") + "[" + i + "]";
            if (!(value instanceof ConfigObject object)) {
                problems.add(new ConfigProblem(ConfigSection.locate(value.origin()), path, ConfigSection.render(value),
                        "{ cert = \"chain.pem\", key = \"key.pem\" }"));
                continue;
            }
            ConfigSection certificate = new ConfigSection(object, path, ConfigSection.locate(object.origin()),
                    problems);
            Path cert = file(certificate, "cert");
            Path key = file(certificate, "key");
            certificate.rejectUnknownKeys();
            certificates.add(new TlsSettings.CertificateFiles(cert, key, ConfigSection.locate(object.origin())));
        }
        List<String> protocols = strings(tls, "protocols");
        for (String protocol : protocols) {
            if (!PROTOCOLS.contains(protocol)) {
                tls.problem("protocols", tls.object().get("protocols"), "a list of " + String.join(", ", PROTOCOLS)
                        + " (older versions are broken: RFC 8996)");
                break;
            }
        }
        if (protocols.isEmpty()) {
            tls.problem("protocols", tls.object().get("protocols"), "at least one of " + String.join(", ", PROTOCOLS));
        }
        List<String> ciphers = strings(tls, "ciphers");
        Duration handshakeTimeout = tls.duration("handshake-timeout", MS, Duration.ofMinutes(5), false);
        int maxHandshakes = tls.integer("max-concurrent-handshakes", 1, 1_000_000);
        Duration rotation = tls.duration("ticket-key-rotation", Duration.ofMinutes(1), Duration.ofDays(7), false);
        int cacheSize = tls.integer("session-cache-size", 0, 10_000_000);
        Duration sessionTimeout = tls.duration("session-timeout", Duration.ofSeconds(1), Duration.ofDays(7), false);
        tls.rejectUnknownKeys();
        return new TlsSettings(provider, certificates, protocols, ciphers, handshakeTimeout, maxHandshakes, rotation,
                cacheSize, sessionTimeout);
    }

    /** A file path, relative ones against the config file's folder. */
    private Path file(ConfigSection section, String key) {
        String name = section.string(key, "");
        Path path = Path.of(name);
        return path.isAbsolute() ? path : baseDir.resolve(path).normalize();
    }

    private List<String> strings(ConfigSection section, String key) {
        List<String> strings = new ArrayList<>();
        for (ConfigValue value : section.list(key)) {
            if (value.valueType() == ConfigValueType.STRING) {
                strings.add((String) value.unwrapped());
            } else {
                section.problem(key, value, "a list of strings");
            }
        }
        return strings;
    }

    private InetSocketAddress address(ConfigSection section, String key, @Nullable ConfigValue value) {
        InetSocketAddress address = value != null && value.valueType() == ConfigValueType.STRING
                ? Addresses.parse((String) value.unwrapped(), 0) : null;
        if (address == null) {
            if (value != null) {
                section.problem(key, value, "\"IP:PORT\" or \"[IPv6]:PORT\" with a resolvable host and port 0..65535");
            }
            return new InetSocketAddress(0);
        }
        return address;
    }
}
