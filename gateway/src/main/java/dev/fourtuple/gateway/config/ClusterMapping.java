package dev.fourtuple.gateway.config;

import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The parts of a cluster that say which backends it has and how they are chosen and judged: {@code backends}
 * (fixed addresses, DNS names, weights, names), {@code balancer}, {@code sticky-cookie}, {@code health-check},
 * {@code outlier-detection} and {@code on-down}.
 */
final class ClusterMapping {
    /** RFC 1123 §2.1 host names (letters, digits, hyphens, dots); SRV owner names add '_' labels (RFC 2782). */
    private static final Pattern DNS_NAME = Pattern.compile("[a-z0-9_]([a-z0-9_-]{0,62})(\\.[a-z0-9_]([a-z0-9_-]{0,62}))*");
    private static final Pattern STATUS_RANGE = Pattern.compile("([1-5][0-9][0-9])(?:-([1-5][0-9][0-9]))?");
    private static final int MAX_WEIGHT = 256;
    private static final Duration MS = Duration.ofMillis(1);

    /** The balancer setting: its kind and, for hash, its key. */
    record Balancing(BalancerKind kind, @Nullable HashKey key) {
    }

    private ClusterMapping() {
    }

    /** {@code backends}: at least one entry, names unique. */
    static List<BackendConfig> backends(ConfigSection cluster) {
        List<BackendConfig> backends = new ArrayList<>();
        Set<String> names = new HashSet<>();
        List<ConfigValue> listed = cluster.list("backends");
        for (int i = 0; i < listed.size(); i++) {
            ConfigValue value = listed.get(i);
            BackendConfig backend = backend(cluster, value, i);
            if (backend == null) {
                continue;
            }
            if (!names.add(backend.name())) {
                cluster.problem("backends", value, "backends with different names (\"" + backend.name()
                        + "\" is taken)");
                continue;
            }
            backends.add(backend);
        }
        ConfigValue written = cluster.optionalValue("backends");
        if (listed.isEmpty() && written != null && written.valueType() == ConfigValueType.LIST) {
            cluster.problem("backends", written, "at least one backend \"IP:PORT\"");
        }
        return backends;
    }

    private static @Nullable BackendConfig backend(ConfigSection cluster, ConfigValue value, int index) {
        if (value.valueType() == ConfigValueType.STRING) {
            return entry(cluster, "backends", value, (String) value.unwrapped(), null, 1);
        }
        if (value instanceof ConfigObject object) {
            ConfigSection entry = new ConfigSection(object, cluster.pathOf("backends") + "[" + index + "]",
                    ConfigSection.locate(object.origin()), cluster.problems());
            ConfigValue address = entry.optionalValue("address");
            ConfigValue nameValue = entry.optionalValue("name");
            String name = nameValue == null ? "" : entry.string("name", "").trim();
            int weight = entry.optionalValue("weight") == null ? 1 : entry.integer("weight", 1, MAX_WEIGHT);
            entry.rejectUnknownKeys();
            if (address == null || address.valueType() != ConfigValueType.STRING) {
                entry.problem("address", address == null ? value : address, "\"IP:PORT\", \"dns:HOST:PORT\" or "
                        + "\"srv:_service._proto.name\"");
                return null;
            }
            if (!name.isEmpty() && !ConfigTokens.isToken(name)) {
                entry.problem("name", object.get("name"), "a name of letters, digits and -._~ (no spaces)");
                return null;
            }
            return entry(entry, "address", address, (String) address.unwrapped(), name.isEmpty() ? null : name, weight);
        }
        cluster.problem("backends", value, "\"IP:PORT\", \"dns:HOST:PORT\", \"srv:NAME\" or "
                + "{ address = \"...\", weight = 1, name = \"...\" }");
        return null;
    }

    private static @Nullable BackendConfig entry(ConfigSection section, String key, ConfigValue value, String text,
            @Nullable String name, int weight) {
        String trimmed = text.trim();
        String written = name != null ? name : trimmed;
        if (trimmed.startsWith("srv:")) {
            String host = normalized(trimmed.substring(4));
            if (host == null || !host.startsWith("_")) {
                section.problem(key, value, "\"srv:_service._proto.name\" (RFC 2782)");
                return null;
            }
            return new BackendConfig(written, weight, null, new BackendConfig.DnsName(true, host, 0));
        }
        if (trimmed.startsWith("dns:")) {
            String rest = trimmed.substring(4);
            int colon = rest.lastIndexOf(':');
            String host = colon > 0 ? normalized(rest.substring(0, colon)) : null;
            int port = colon > 0 ? port(rest.substring(colon + 1)) : 0;
            if (host == null || port == 0) {
                section.problem(key, value, "\"dns:HOST:PORT\" with a DNS host name and a port 1..65535");
                return null;
            }
            return new BackendConfig(written, weight, null, new BackendConfig.DnsName(false, host, port));
        }
        InetSocketAddress address = Addresses.parse(trimmed, 1);
        if (address == null) {
            section.problem(key, value, "\"IP:PORT\" or \"[IPv6]:PORT\" with a resolvable host and port 1..65535, "
                    + "\"dns:HOST:PORT\" or \"srv:NAME\"");
            return null;
        }
        return new BackendConfig(name != null ? name : address.getAddress().getHostAddress() + ":" + address.getPort(),
                weight, address, null);
    }

    private static @Nullable String normalized(String host) {
        String lower = host.trim().toLowerCase(Locale.ROOT);
        if (lower.endsWith(".")) {
            lower = lower.substring(0, lower.length() - 1);
        }
        return lower.length() <= 253 && DNS_NAME.matcher(lower).matches() ? lower : null;
    }

    private static int port(String text) {
        try {
            int port = Integer.parseInt(text.trim());
            return port >= 1 && port <= 65535 ? port : 0;
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** {@code balancer = round-robin | least-connections} or {@code { type = hash, key = "cookie:io" }}. */
    static Balancing balancer(ConfigSection cluster) {
        ConfigValue value = cluster.value("balancer");
        if (!(value instanceof ConfigObject)) {
            BalancerKind kind = cluster.enumValue("balancer", BalancerKind.class, BalancerKind.ROUND_ROBIN);
            if (kind == BalancerKind.HASH) {
                cluster.problem("balancer", value, "{ type = hash, key = \"cookie:NAME\" | \"header:NAME\" | "
                        + "\"query:NAME\" | \"client-ip\" } (a hash needs its key)");
                return new Balancing(BalancerKind.ROUND_ROBIN, null);
            }
            return new Balancing(kind, null);
        }
        ConfigSection balancer = cluster.section("balancer");
        BalancerKind kind = balancer.enumValue("type", BalancerKind.class, BalancerKind.ROUND_ROBIN);
        ConfigValue keyValue = balancer.value("key");
        balancer.rejectUnknownKeys();
        if (kind != BalancerKind.HASH) {
            if (keyValue != null) {
                balancer.problem("key", keyValue, "no key unless type = hash");
            }
            return new Balancing(kind, null);
        }
        HashKey key = keyValue != null && keyValue.valueType() == ConfigValueType.STRING
                ? HashKey.parse((String) keyValue.unwrapped()) : null;
        if (key == null) {
            balancer.problem("key", keyValue == null ? cluster.object().get("balancer") : keyValue,
                    "\"cookie:NAME\" | \"header:NAME\" | \"query:NAME\" | \"client-ip\"");
            return new Balancing(BalancerKind.ROUND_ROBIN, null);
        }
        return new Balancing(kind, key);
    }

    /** {@code sticky-cookie = ""} (off) or a cookie name (RFC 6265 §4.1.1: a token). */
    static @Nullable String stickyCookie(ConfigSection cluster) {
        String name = cluster.string("sticky-cookie", "").trim();
        if (name.isEmpty()) {
            return null;
        }
        if (!ConfigTokens.isToken(name)) {
            cluster.problem("sticky-cookie", cluster.object().get("sticky-cookie"),
                    "\"\" (off) or a cookie name (RFC 6265 §4.1.1 token)");
            return null;
        }
        return name;
    }

    /** {@code health-check { type = off | http | tcp, ... }}: null when off. */
    static @Nullable HealthCheckSettings healthCheck(ConfigSection cluster) {
        ConfigSection check = cluster.section("health-check");
        String type = check.string("type", "off").trim();
        String path = check.string("path", "/healthz").trim();
        String host = check.string("host", "").trim();
        ConfigValue expectValue = check.value("expect");
        String expect = check.string("expect", "200-399").trim();
        Duration interval = check.duration("interval", Duration.ofMillis(100), Duration.ofHours(1), false);
        Duration timeout = check.duration("timeout", Duration.ofMillis(10), Duration.ofMinutes(5), false);
        int fall = check.integer("fall", 1, 100);
        int rise = check.integer("rise", 1, 100);
        double jitter = check.fraction("jitter");
        check.rejectUnknownKeys();
        // RFC 9112 §3.2.1 origin-form; no CR, LF or space that would split the request line
        if (!path.startsWith("/") || !path.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            check.problem("path", check.object().get("path"), "an origin-form path \"/...\" without spaces");
        }
        if (!host.isEmpty() && !host.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != ',')) {
            check.problem("host", check.object().get("host"), "\"\" or a host name");
        }
        Matcher m = STATUS_RANGE.matcher(expect);
        int low = 200;
        int high = 399;
        if (m.matches()) {
            low = Integer.parseInt(m.group(1));
            high = m.group(2) == null ? low : Integer.parseInt(m.group(2));
        }
        if (!m.matches() || low > high) {
            check.problem("expect", expectValue == null ? check.object() : expectValue,
                    "a status \"200\" or a range \"200-399\"");
        }
        if (timeout.compareTo(interval) > 0) {
            check.problem("timeout", check.object().get("timeout"), "at most interval (" + interval + ")");
        }
        if (jitter > 0.5) {
            check.problem("jitter", check.object().get("jitter"), "\"0%\" to \"50%\"");
        }
        if (!type.equals("off") && !type.equals("http") && !type.equals("tcp")) {
            check.problem("type", check.object().get("type"), "off | http | tcp");
            return null;
        }
        if (type.equals("off")) {
            return null;
        }
        return new HealthCheckSettings(type.equals("http"), path, host, low, high, interval, timeout, fall, rise,
                jitter);
    }

    /** {@code outlier-detection { consecutive-failures = 5, base-ejection = 30s, ... }}. */
    static OutlierSettings outlier(ConfigSection cluster) {
        ConfigSection outlier = cluster.section("outlier-detection");
        int failures = outlier.integerOr("off", "consecutive-failures", 1, 1000);
        Duration base = outlier.duration("base-ejection", MS, Duration.ofHours(1), false);
        Duration max = outlier.duration("max-ejection-time", MS, Duration.ofHours(24), false);
        double fraction = outlier.fraction("max-ejection");
        outlier.rejectUnknownKeys();
        if (max.compareTo(base) < 0) {
            outlier.problem("max-ejection-time", outlier.object().get("max-ejection-time"),
                    "at least base-ejection (" + base + ")");
        }
        return new OutlierSettings(failures, base, max, fraction);
    }
}
