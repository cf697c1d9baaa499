package dev.fourtuple.gateway.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.io.File;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URL;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Reads a HOCON file on top of the jar's {@code reference.conf} and maps it, in one pass, to a
 * {@link GatewayConfig}. Every problem is collected; none stops the others from being found.
 */
public final class ConfigLoader {
    private static final String REFERENCE = "reference.conf";
    private static final Pattern CLUSTER_NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    private static final Pattern HOST_NAME = Pattern.compile("[a-z0-9.-]{1,253}");
    private static final Duration MS = Duration.ofMillis(1);
    /** linux/tcp.h MAX_TCP_KEEPIDLE: setsockopt(TCP_KEEPIDLE) refuses more with EINVAL. */
    private static final Duration MAX_TCP_KEEPIDLE = Duration.ofSeconds(32767);
    private static final int MAX_SOURCES = 4096;
    /** admission.per-client.table-size at most: about 36 bytes of heap an entry, 36 MiB at this size. */
    private static final int MAX_CLIENT_TABLE = 1 << 20;
    private static final List<String> LOG_LEVELS = List.of("error", "warn", "info", "debug", "trace");
    /** Problems sorted by file, then line (a stable sort: same line keeps the order found). */
    private static final Comparator<ConfigProblem> IN_FILE_ORDER = Comparator
            .comparing((ConfigProblem p) -> fileOf(p.location()))
            .thenComparingInt(p -> lineOf(p.location()));

    private ConfigLoader() {
    }

    /** Loads and validates a config file. */
    public static GatewayConfig load(Path file) throws ConfigProblems {
        // Typesafe Config looks for an include next to the including file, in its parent directory; a bare
        // "gateway.conf" has none, and its includes would be looked for on the classpath only. "./gateway.conf"
        // has one; the origin keeps the name as given.
        boolean bare = file.getParent() == null;
        File input = bare ? new File(".", file.toString()) : file.toFile();
        IncludeTrail trail = IncludeTrail.ofFile(input.toPath(), file.toString());
        ConfigParseOptions options = ConfigParseOptions.defaults().setAllowMissing(false)
                .setSyntax(ConfigSyntax.CONF).setIncluder(trail);
        Config user;
        try {
            user = ConfigFactory.parseFile(input, bare ? options.setOriginDescription(file.toString()) : options);
        } catch (ConfigException e) {
            throw fromException(e, trail, file.toString());
        }
        requireIncludes(trail);
        Path folder = file.toAbsolutePath().getParent();
        return map(user, file.toString(), folder == null ? Path.of("") : folder);
    }

    /** Loads and validates config text (tests, the embedded demo config). */
    public static GatewayConfig parse(String hocon, String sourceName) throws ConfigProblems {
        IncludeTrail trail = IncludeTrail.ofText(hocon, sourceName);
        Config user;
        try {
            user = ConfigFactory.parseString(hocon, ConfigParseOptions.defaults().setOriginDescription(sourceName)
                    .setSyntax(ConfigSyntax.CONF).setIncluder(trail));
        } catch (ConfigException e) {
            throw fromException(e, trail, sourceName);
        }
        requireIncludes(trail);
        return map(user, sourceName, Path.of("").toAbsolutePath());
    }

    /** A required include that failed is a problem even when Typesafe Config went on without it. */
    private static void requireIncludes(IncludeTrail trail) throws ConfigProblems {
        ConfigProblem failure = trail.failure();
        if (failure != null) {
            throw new ConfigProblems(List.of(failure));
        }
    }

    /** @param folder where relative file names in the config (certificates) are resolved */
    private static GatewayConfig map(Config user, String source, Path folder) throws ConfigProblems {
        Config merged;
        try {
            merged = user.withFallback(reference()).resolve();
        } catch (ConfigException e) {
            throw fromException(e, source);
        }
        List<ConfigProblem> problems = new ArrayList<>();
        GatewayConfig config = new Mapping(problems, folder).gateway(
                new ConfigSection(merged.root(), "", source, problems), source);
        if (!problems.isEmpty()) {
            problems.sort(IN_FILE_ORDER);
            throw new ConfigProblems(problems);
        }
        return config;
    }

    /** Only our own reference.conf: ConfigFactory.defaultReference() would also pull in system properties. */
    private static Config reference() {
        URL url = ConfigLoader.class.getClassLoader().getResource(REFERENCE);
        if (url == null) {
            throw new IllegalStateException(REFERENCE + " is missing from the classpath: broken build");
        }
        return ConfigFactory.parseURL(url, ConfigParseOptions.defaults().setAllowMissing(false)
                .setOriginDescription(ConfigSection.REFERENCE_ORIGIN));
    }

    private static String fileOf(String location) {
        int colon = location.lastIndexOf(':');
        return colon > 0 && lineOf(location) > 0 ? location.substring(0, colon) : location;
    }

    private static int lineOf(String location) {
        int colon = location.lastIndexOf(':');
        try {
            return colon > 0 ? Integer.parseInt(location.substring(colon + 1)) : 0;
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** A parse failure: at the include statement when an include failed, else as Typesafe Config tells it. */
    private static ConfigProblems fromException(ConfigException e, IncludeTrail trail, String source) {
        ConfigProblem failure = trail.failure();
        return failure != null ? new ConfigProblems(List.of(failure)) : fromException(e, source);
    }

    private static ConfigProblems fromException(ConfigException e, String source) {
        ConfigOrigin origin = e.origin();
        String location = origin == null ? source : ConfigSection.locate(origin);
        String message = e.getMessage();
        if (origin != null && message.startsWith(origin.description() + ": ")) {
            message = message.substring(origin.description().length() + 2);
        }
        String key = e instanceof ConfigException.IO ? "(file)" : "(syntax)";
        String expected = e instanceof ConfigException.IO ? "a readable HOCON file" : "valid HOCON";
        return new ConfigProblems(List.of(new ConfigProblem(location, key, message, expected)));
    }

    /** The hand-written mapping from sections to records. */
    private record Mapping(List<ConfigProblem> problems, Path folder) {

        GatewayConfig gateway(ConfigSection root, String source) {
            int backlog = root.integer("backlog", 1, 65535);
            List<ListenerConfig> listeners = new ListenerMapping(problems, folder).listeners(root, backlog);
            TransportChoice transport = root.enumValue("transport", TransportChoice.class, TransportChoice.AUTO);
            int eventLoops = root.integerOrAuto("event-loops", 1, 1024);
            Timeouts timeouts = new Timeouts(
                    root.duration("header-timeout", MS, Duration.ofHours(1), false),
                    root.duration("idle-timeout", MS, Duration.ofHours(24), true),
                    root.duration("request-timeout", MS, Duration.ofHours(24), true),
                    root.duration("long-poll-timeout", MS, Duration.ofDays(7), true),
                    root.duration("tunnel-idle-timeout", Duration.ofSeconds(1), Duration.ofDays(7), true),
                    root.duration("connect-timeout", MS, Duration.ofMinutes(5), false),
                    root.duration("drain-timeout", Duration.ZERO, Duration.ofHours(1), false),
                    root.duration("body-timeout", Duration.ofSeconds(1), Duration.ofHours(24), true));
            Limits limits = new Limits(
                    (int) root.bytes("max-initial-line-length", 256, 1 << 20, false),
                    (int) root.bytes("max-header-size", 1024, 1 << 20, false),
                    root.bytes("max-request-body-size", 0, 1L << 40, true),
                    bodyMinRate(root));
            ConfigSection upstreamSection = root.section("upstream");
            ConfigSection downstreamSection = root.section("downstream");
            SocketSettings downstream = socket(downstreamSection);
            downstreamSection.rejectUnknownKeys();
            UpstreamSettings upstream = new UpstreamSettings(
                    socket(upstreamSection),
                    upstreamSection.integer("keepalive-max-idle", 0, 10_000),
                    upstreamSection.duration("keepalive-idle-timeout", MS, Duration.ofHours(1), false),
                    sourceAddresses(upstreamSection, upstreamSection.list("source-addresses")),
                    localPortRange(upstreamSection),
                    upstreamSection.bool("bind-address-no-port"));
            upstreamSection.rejectUnknownKeys();

            AdmissionSettings admission = admission(root.section("admission"));
            OpsSettings ops = ops(root, transport);
            ConfigObject clusterDefaults = root.section("cluster-defaults").object();
            Map<String, ClusterConfig> clusters = clusters(root.section("clusters"), clusterDefaults);
            ConfigObject routeDefaults = root.section("route-defaults").object();
            List<RouteConfig> routes = routes(root, routeDefaults, clusters, listeners);
            DnsSettings dns = dns(root.section("dns"));
            root.rejectUnknownKeys();
            return new GatewayConfig(source, listeners, backlog, transport, eventLoops, timeouts, limits, downstream,
                    upstream, admission, ops, clusters, routes, dns);
        }

        /** body-min-rate: off (0), or a size per second written as a size ("1KiB"). */
        private long bodyMinRate(ConfigSection root) {
            long rate = root.bytes("body-min-rate", 1, 1L << 30, true);
            return rate == Long.MAX_VALUE ? 0 : rate;
        }

        private SocketSettings socket(ConfigSection section) {
            int rcvbuf = (int) section.bytesOr("auto", "rcvbuf", 1024, 16L << 20);
            int sndbuf = (int) section.bytesOr("auto", "sndbuf", 1024, 16L << 20);
            boolean nodelay = section.bool("nodelay");
            SocketSettings.TcpKeepalive keepalive = null;
            ConfigValue keepaliveValue = section.value("tcp-keepalive");
            if (keepaliveValue != null && !(keepaliveValue.valueType() == ConfigValueType.STRING
                    && "off".equals(keepaliveValue.unwrapped()))) {
                if (keepaliveValue instanceof ConfigObject) {
                    ConfigSection probes = section.section("tcp-keepalive");
                    keepalive = new SocketSettings.TcpKeepalive(
                            probes.duration("idle", Duration.ofSeconds(1), MAX_TCP_KEEPIDLE, false),
                            probes.duration("interval", Duration.ofSeconds(1), Duration.ofHours(1), false),
                            probes.integer("count", 1, 127));
                    probes.rejectUnknownKeys();
                } else {
                    section.problem("tcp-keepalive", keepaliveValue, "off, or { idle, interval, count }");
                }
            }
            Duration userTimeout = section.duration("user-timeout", Duration.ofSeconds(1), Duration.ofHours(24), true);
            long lowat = section.bytes("notsent-lowat", 1024, 16L << 20, true);
            int before = problems.size();
            int high = (int) section.bytes("write-buffer-high-water", 1024, 64L << 20, false);
            int low = (int) section.bytes("write-buffer-low-water", 1024, 64L << 20, false);
            // Only between two good values: a placeholder after a problem (or in a section that is not an
            // object, already reported) is no second problem.
            if (problems.size() == before && low >= high && section.object().containsKey("write-buffer-low-water")) {
                if (section.written("write-buffer-low-water") || !section.written("write-buffer-high-water")) {
                    section.problem("write-buffer-low-water", section.object().get("write-buffer-low-water"),
                            "less than write-buffer-high-water (" + high + " bytes)");
                } else {
                    section.problem("write-buffer-high-water", section.object().get("write-buffer-high-water"),
                            "more than write-buffer-low-water (" + low + " bytes)");
                }
            }
            ConfigSection receive = section.section("receive-buffer");
            before = problems.size();
            int min = (int) receive.bytes("min", 64, 1L << 20, false);
            int initial = (int) receive.bytes("initial", 64, 1L << 20, false);
            int max = (int) receive.bytes("max", 64, 16L << 20, false);
            if (problems.size() == before && receive.object().containsKey("initial")) {
                if (min > initial) {
                    ordered(receive, "min", min, "initial", initial);
                } else if (initial > max) {
                    ordered(receive, "initial", initial, "max", max);
                }
            }
            receive.rejectUnknownKeys();
            return new SocketSettings(rcvbuf, sndbuf, nodelay, keepalive, userTimeout,
                    lowat == Long.MAX_VALUE ? 0 : (int) lowat, high, low, min, initial, max);
        }

        /**
         * A problem for two sizes that must be {@code small <= large} and are not, at the one the user wrote
         * (the smaller one's key when both or neither are written).
         */
        private void ordered(ConfigSection section, String small, int smallValue, String large, int largeValue) {
            if (section.written(small) || !section.written(large)) {
                section.problem(small, section.object().get(small),
                        "at most " + large + " (" + largeValue + " bytes)");
            } else {
                section.problem(large, section.object().get(large),
                        "at least " + small + " (" + smallValue + " bytes)");
            }
        }

        private OpsSettings ops(ConfigSection root, TransportChoice transport) {
            Duration grace = root.duration("reload-grace", Duration.ofSeconds(1), Duration.ofDays(7), true);
            ConfigSection admin = root.section("admin");
            ConfigValue adminValue = admin.value("listen");
            InetSocketAddress adminListen = null;
            if (adminValue != null && !(adminValue.valueType() == ConfigValueType.STRING
                    && "off".equals(adminValue.unwrapped()))) {
                adminListen = addressValue(admin, "listen", adminValue, 0);
            }
            AdminSettings adminSettings = new AdminSettings(adminListen,
                    admin.duration("header-timeout", MS, Duration.ofHours(1), false),
                    admin.duration("idle-timeout", MS, Duration.ofHours(24), true),
                    admin.integer("max-connections", 1, 10_000));
            admin.rejectUnknownKeys();
            ConfigSection logging = root.section("logging");
            String level = logLevel(logging, "level", logging.value("level"));
            ConfigSection levels = logging.section("levels");
            Map<String, String> byLogger = new LinkedHashMap<>();
            for (String logger : levels.keys()) {
                byLogger.put(logger, logLevel(levels, logger, levels.optionalValue(logger)));
            }
            logging.rejectUnknownKeys();
            Duration delay = root.duration("drain-delay", Duration.ZERO, Duration.ofMinutes(10), false);
            Duration spread = root.duration("drain-spread", Duration.ZERO, Duration.ofHours(1), false);
            DrainCloseCode closeCode = root.enumValue("drain-close-code", DrainCloseCode.class,
                    DrainCloseCode.GOING_AWAY);
            return new OpsSettings(adminSettings, grace, level, byLogger, delay, spread, closeCode, handoverSocket(root, transport));
        }

        /** handover.socket: off, or the absolute path of a Unix socket (at most 107 bytes: sun_path). */
        private @Nullable Path handoverSocket(ConfigSection root, TransportChoice transport) {
            ConfigSection handover = root.section("handover");
            ConfigValue value = handover.value("socket");
            Path socket = null;
            if (value != null && !(value.valueType() == ConfigValueType.STRING && "off".equals(value.unwrapped()))) {
                String path = value.valueType() == ConfigValueType.STRING ? (String) value.unwrapped() : "";
                if (!path.startsWith("/") || path.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 107) {
                    handover.problem("socket", value, "off, or an absolute path of at most 107 bytes");
                } else {
                    socket = Path.of(path);
                }
            }
            if (socket != null && transport != TransportChoice.AUTO && transport != TransportChoice.EPOLL) {
                // Netty 4.2's io_uring channels cannot be made from an existing fd, nor can NIO's.
                handover.problem("socket", value, "off with transport = " + transport.word()
                        + " (a handover adopts sockets, which only the epoll transport can)");
            }
            handover.rejectUnknownKeys();
            return socket;
        }

        private String logLevel(ConfigSection section, String key, @Nullable ConfigValue value) {
            if (value != null && value.valueType() == ConfigValueType.STRING) {
                String level = ((String) value.unwrapped()).trim().toLowerCase(Locale.ROOT);
                if (LOG_LEVELS.contains(level)) {
                    return level;
                }
            }
            if (value != null) {
                section.problem(key, value, String.join(" | ", LOG_LEVELS));
            }
            return "info";
        }

        private AdmissionSettings admission(ConfigSection section) {
            boolean enabled = section.bool("enabled");
            int maxConnections = section.integerOr("off", "max-connections", 1, 100_000_000);
            int fdReserve = section.integerOr("auto", "fd-reserve", 8, 1_000_000);
            int fdHardFloor = section.integerOr("auto", "fd-hard-floor", 1, 1_000_000);
            if (fdReserve > 0 && fdHardFloor >= fdReserve) {
                section.problem("fd-hard-floor", section.object().get("fd-hard-floor"),
                        "auto, or fewer than fd-reserve (" + fdReserve + ")");
            }
            AdmissionSettings.Watermarks heap = watermarks(section, "heap");
            AdmissionSettings.Watermarks direct = watermarks(section, "direct");
            AdmissionSettings.Watermarks tcp = watermarks(section, "tcp-memory");
            AdmissionSettings.Watermarks cgroup = watermarks(section, "cgroup-memory");
            Duration retryAfter = section.duration("retry-after", Duration.ofSeconds(1), Duration.ofHours(1), false);
            Duration jitter = section.duration("retry-after-jitter", Duration.ZERO, Duration.ofHours(1), false);
            int acceptRate = section.integerOr("off", "accept-rate", 1, 10_000_000);
            String excess = section.string("accept-rate-excess", "wait");
            if (!excess.equals("wait") && !excess.equals("refuse")) {
                section.problem("accept-rate-excess", section.object().get("accept-rate-excess"), "wait | refuse");
            }
            Duration refresh = section.duration("refresh-interval", Duration.ofMillis(50), Duration.ofMinutes(1), false);
            Duration log = section.duration("log-interval", Duration.ofSeconds(1), Duration.ofHours(1), false);
            AdmissionSettings.PerClient perClient = perClient(section.section("per-client"));
            section.rejectUnknownKeys();
            return new AdmissionSettings(enabled, maxConnections, fdReserve, fdHardFloor, heap, direct, tcp, cgroup,
                    retryAfter, jitter, acceptRate, excess.equals("refuse"), refresh, log, perClient);
        }

        private AdmissionSettings.PerClient perClient(ConfigSection section) {
            int maxConnections = section.integerOr("off", "max-connections", 1, 1_000_000);
            int connectRate = section.integerOr("off", "connect-rate", 1, 1_000_000);
            // At least 32 bits: the key of a client is 64 bits, and IPv4 clients own 0:ffff::/32 of that space.
            int ipv6Prefix = section.integer("ipv6-prefix", 32, 64);
            int tableSize = section.integer("table-size", 16, MAX_CLIENT_TABLE);
            section.rejectUnknownKeys();
            return new AdmissionSettings.PerClient(maxConnections, connectRate, ipv6Prefix, tableSize);
        }

        private AdmissionSettings.Watermarks watermarks(ConfigSection section, String prefix) {
            double high = section.fraction(prefix + "-high");
            double low = section.fraction(prefix + "-low");
            if (low > high) {
                section.problem(prefix + "-low", section.object().get(prefix + "-low"),
                        "at most " + prefix + "-high (" + Math.round(high * 100) + "%)");
            }
            return new AdmissionSettings.Watermarks(high, low);
        }

        /** dns { resolvers = ["IP:PORT", ...], max-refresh, min-refresh, timeout }. */
        private DnsSettings dns(ConfigSection dns) {
            List<InetSocketAddress> resolvers = new ArrayList<>();
            for (ConfigValue value : dns.list("resolvers")) {
                InetSocketAddress resolver = value.valueType() == ConfigValueType.STRING
                        && Addresses.ipLiteral(hostOf((String) value.unwrapped())) != null
                        ? Addresses.parse((String) value.unwrapped(), 1) : null;
                if (resolver == null) {
                    dns.problem("resolvers", value, "\"IP:PORT\" of a DNS server (an IP, not a name)");
                } else {
                    resolvers.add(resolver);
                }
            }
            Duration maxRefresh = dns.duration("max-refresh", Duration.ofSeconds(1), Duration.ofHours(24), false);
            Duration minRefresh = dns.duration("min-refresh", MS, Duration.ofHours(1), false);
            Duration timeout = dns.duration("timeout", MS, Duration.ofMinutes(1), false);
            dns.rejectUnknownKeys();
            if (minRefresh.compareTo(maxRefresh) > 0) {
                dns.problem("min-refresh", dns.object().get("min-refresh"), "at most max-refresh (" + maxRefresh + ")");
            }
            return new DnsSettings(resolvers, maxRefresh, minRefresh, timeout);
        }

        private static String hostOf(String hostAndPort) {
            String trimmed = hostAndPort.trim();
            int colon = trimmed.lastIndexOf(':');
            String host = colon > 0 ? trimmed.substring(0, colon) : trimmed;
            return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        }

        private Map<String, ClusterConfig> clusters(ConfigSection section, ConfigObject defaults) {
            Map<String, ClusterConfig> clusters = new LinkedHashMap<>();
            for (String name : section.keys()) {
                ConfigValue value = section.optionalValue(name);
                if (!(value instanceof ConfigObject object)) {
                    section.problem(name, value == null ? defaults : value, "a cluster object { backends = [...] }");
                    continue;
                }
                if (!CLUSTER_NAME.matcher(name).matches()) {
                    section.problem(name, value, "a cluster name of letters, digits, '-' and '_'");
                }
                ConfigSection cluster = new ConfigSection(object.withFallback(defaults), section.pathOf(name),
                        ConfigSection.locate(object.origin()), problems);
                List<BackendConfig> backends = ClusterMapping.backends(cluster);
                ClusterMapping.Balancing balancer = ClusterMapping.balancer(cluster);
                String stickyCookie = ClusterMapping.stickyCookie(cluster);
                List<InetAddress> sources = cluster.optionalValue("source-addresses") == null ? null
                        : sourceAddresses(cluster, cluster.list("source-addresses"));
                ClusterTls tls = new ClusterTlsMapping(problems, folder).tls(cluster);
                HealthCheckSettings healthCheck = ClusterMapping.healthCheck(cluster);
                OutlierSettings outlier = ClusterMapping.outlier(cluster);
                DownPolicy onDown = cluster.enumValue("on-down", DownPolicy.class, DownPolicy.KEEP);
                SendProxyProtocol sendProxyProtocol = cluster.enumValue("send-proxy-protocol", SendProxyProtocol.class,
                        SendProxyProtocol.OFF);
                cluster.rejectUnknownKeys();
                clusters.put(name, new ClusterConfig(name, backends, balancer.kind(), balancer.key(), stickyCookie,
                        sources, tls, healthCheck, outlier, onDown, sendProxyProtocol));
            }
            return clusters;
        }

        private List<RouteConfig> routes(ConfigSection root, ConfigObject defaults, Map<String, ClusterConfig> clusters,
                List<ListenerConfig> listeners) {
            List<String> listenerNames = listeners.stream().map(ListenerConfig::name).toList();
            List<ConfigValue> listed = root.list("routes");
            ConfigValue routesValue = root.optionalValue("routes");
            if (listed.isEmpty() && routesValue != null && routesValue.valueType() == ConfigValueType.LIST) {
                root.problem("routes", routesValue, "at least one route { host, path-prefix, cluster }");
            }
            List<RouteConfig> routes = new ArrayList<>();
            for (int i = 0; i < listed.size(); i++) {
                String path = "routes[" + i + "]";
                ConfigValue value = listed.get(i);
                if (!(value instanceof ConfigObject object)) {
                    problems.add(new ConfigProblem(ConfigSection.locate(value.origin()), path,
                            ConfigSection.render(value), "a route object { host, path-prefix, cluster }"));
                    continue;
                }
                ConfigSection route = new ConfigSection(object.withFallback(defaults), path,
                        ConfigSection.locate(object.origin()), problems);
                String host = route.string("host", "*").trim().toLowerCase(Locale.ROOT);
                if (!host.equals("*") && !HOST_NAME.matcher(host).matches()) {
                    route.problem("host", route.object().get("host"), "\"*\" or a host name without port");
                }
                String pathPrefix = route.string("path-prefix", "/");
                if (!pathPrefix.startsWith("/")) {
                    route.problem("path-prefix", route.object().get("path-prefix"), "a path starting with /");
                }
                String cluster = route.string("cluster", "");
                ConfigValue clusterValue = route.object().get("cluster");
                if (clusterValue != null && !clusters.containsKey(cluster)) {
                    route.problem("cluster", clusterValue, clusters.isEmpty()
                            ? "a cluster defined under clusters { } (none is)"
                            : "one of the clusters: " + String.join(", ", clusters.keySet()));
                }
                boolean longPoll = route.bool("long-poll");
                Duration requestTimeout = route.optionalDuration("request-timeout", MS, Duration.ofDays(7), true);
                List<String> on = new ArrayList<>();
                for (ConfigValue name : route.optionalValue("listeners") == null ? List.<ConfigValue>of()
                        : route.list("listeners")) {
                    if (name.valueType() == ConfigValueType.STRING && listenerNames.contains((String) name.unwrapped())) {
                        on.add((String) name.unwrapped());
                    } else {
                        route.problem("listeners", name, "names of listeners: " + String.join(", ", listenerNames));
                    }
                }
                route.rejectUnknownKeys();
                routes.add(new RouteConfig(host, pathPrefix, cluster, longPoll, requestTimeout, on));
            }
            return routes;
        }

        /** IP literals and IPv4 ranges, expanded, without duplicates. */
        private List<InetAddress> sourceAddresses(ConfigSection section, List<ConfigValue> listed) {
            Set<InetAddress> all = new LinkedHashSet<>();
            for (ConfigValue value : listed) {
                List<InetAddress> expanded = value.valueType() == ConfigValueType.STRING
                        ? Addresses.ipOrRange((String) value.unwrapped(), MAX_SOURCES) : null;
                if (expanded == null) {
                    section.problem("source-addresses", value, "an IP address \"10.0.0.2\" or an IPv4 range "
                            + "\"10.0.0.2-10.0.0.9\" (at most " + MAX_SOURCES + " addresses)");
                } else {
                    all.addAll(expanded);
                }
            }
            if (all.size() > MAX_SOURCES) {
                section.problem("source-addresses", section.object().get("source-addresses"),
                        "at most " + MAX_SOURCES + " addresses in all");
            }
            return new ArrayList<>(all);
        }

        private @Nullable PortRange localPortRange(ConfigSection section) {
            ConfigValue value = section.value("local-port-range");
            if (value == null || (value.valueType() == ConfigValueType.STRING && "off".equals(value.unwrapped()))) {
                return null;
            }
            PortRange range = value.valueType() == ConfigValueType.STRING
                    ? Addresses.portRange((String) value.unwrapped()) : null;
            if (range == null) {
                section.problem("local-port-range", value, "off, or \"LOW-HIGH\" with 1 <= LOW <= HIGH <= 65535");
            }
            return range;
        }

        private InetSocketAddress address(ConfigSection section, String key, int minPort) {
            ConfigValue value = section.value(key);
            if (value == null) {
                return new InetSocketAddress(0);
            }
            InetSocketAddress address = addressValue(section, key, value, minPort);
            return address == null ? new InetSocketAddress(0) : address;
        }

        private @Nullable InetSocketAddress addressValue(ConfigSection section, String key, ConfigValue value, int minPort) {
            InetSocketAddress address = value.valueType() == ConfigValueType.STRING
                    ? Addresses.parse((String) value.unwrapped(), minPort)
                    : null;
            if (address == null) {
                section.problem(key, value, "\"IP:PORT\" or \"[IPv6]:PORT\" with a resolvable host and port "
                        + minPort + "..65535");
            }
            return address;
        }
    }
}
