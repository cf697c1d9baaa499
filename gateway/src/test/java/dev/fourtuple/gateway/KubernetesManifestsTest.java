package dev.fourtuple.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.fourtuple.gateway.config.ConfigLoader;
import dev.fourtuple.gateway.config.ConfigProblem;
import dev.fourtuple.gateway.config.ConfigProblems;
import dev.fourtuple.gateway.config.GatewayConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * deploy/kubernetes checked against what the gateway really does (no kubeconform can be installed from the
 * registries CI reaches, and a schema check would not know these rules anyway): the ConfigMap's gateway.conf
 * loads through {@link ConfigLoader}, the probes hit /readyz and /healthz on its admin port, the Service's
 * targetPort is its listener, terminationGracePeriodSeconds covers preStop + drain-delay + drain-timeout, the
 * PDB selects the Deployment's pods, resources are set and the JVM fits in them. Each rule is shown able to
 * fail by a second test that breaks the manifests in exactly that way.
 */
class KubernetesManifestsTest {
    private static final Path DIR = Path.of("..", "deploy", "kubernetes");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Pattern JVM_SIZE = Pattern.compile("-(?:Xmx|XX:MaxDirectMemorySize=)(\\d+)([kKmMgG]?)");

    /** The manifests as kustomization.yaml puts them together; mutable copies, so a test can break one. */
    record Manifests(ObjectNode deployment, ObjectNode service, ObjectNode pdb, String configMapName,
            String configKey, String configText) {
        Manifests with(String text) {
            return new Manifests(deployment, service, pdb, configMapName, configKey, text);
        }
    }

    static Manifests load() throws IOException {
        JsonNode kustomization = YAML.readTree(DIR.resolve("kustomization.yaml").toFile());
        ObjectNode deployment = null;
        ObjectNode service = null;
        ObjectNode pdb = null;
        for (JsonNode resource : kustomization.path("resources")) {
            ObjectNode doc = (ObjectNode) YAML.readTree(DIR.resolve(resource.asText()).toFile());
            switch (doc.path("kind").asText()) {
                case "Deployment" -> deployment = doc;
                case "Service" -> service = doc;
                case "PodDisruptionBudget" -> pdb = doc;
                default -> throw new AssertionError("unexpected kind in " + resource + ": " + doc.path("kind"));
            }
        }
        assertThat(deployment).as("a Deployment in kustomization.yaml's resources").isNotNull();
        assertThat(service).as("a Service in kustomization.yaml's resources").isNotNull();
        assertThat(pdb).as("a PodDisruptionBudget in kustomization.yaml's resources").isNotNull();
        JsonNode generator = kustomization.path("configMapGenerator").path(0);
        String file = generator.path("files").path(0).asText();
        // A files entry is "path" (key = the file name) or "key=path".
        String key = file.contains("=") ? file.substring(0, file.indexOf('=')) : Path.of(file).getFileName().toString();
        String path = file.contains("=") ? file.substring(file.indexOf('=') + 1) : file;
        return new Manifests(deployment, service, pdb, generator.path("name").asText(), key,
                Files.readString(DIR.resolve(path)));
    }

    @Test
    void theManifestsAgreeWithTheGatewayAndItsConfig() throws IOException {
        Manifests manifests = load();
        assertThat(problems(manifests)).isEmpty();
        // What the rules were checked against, so that a config that loads as something else shows here.
        GatewayConfig config = config(manifests, new ArrayList<>());
        assertThat(config).isNotNull();
        assertThat(config.listen().getPort()).isEqualTo(8080);
        assertThat(config.ops().admin().listen()).isEqualTo(new InetSocketAddress("0.0.0.0", 9090));
    }

    /** Each way of breaking the manifests, and the problem it must be reported as. */
    static Stream<Arguments> breakages() {
        return Stream.of(
                breakage("config does not load", "config: ", m -> { }, "drain-timeout = forever\n"),
                breakage("config has an unknown key", "no such key", m -> { }, "drain-timout = 5s\n"),
                breakage("drain-timeout past the grace", "terminationGracePeriodSeconds", m -> { },
                        "drain-timeout = 80s\n"),
                breakage("grace lowered", "terminationGracePeriodSeconds",
                        m -> podSpec(m).put("terminationGracePeriodSeconds", 70), null),
                breakage("no preStop", "preStop", m -> ((ObjectNode) container(m).path("lifecycle")).remove("preStop"),
                        null),
                breakage("readiness on /healthz", "readinessProbe path",
                        m -> ((ObjectNode) container(m).path("readinessProbe").path("httpGet")).put("path", "/healthz"),
                        null),
                breakage("readiness on the client port", "readinessProbe port",
                        m -> ((ObjectNode) container(m).path("readinessProbe").path("httpGet")).put("port", "http"),
                        null),
                breakage("liveness on another port", "livenessProbe port",
                        m -> ((ObjectNode) container(m).path("livenessProbe").path("httpGet")).put("port", 9091), null),
                breakage("admin on loopback", "admin.listen", m -> { }, "admin.listen = \"127.0.0.1:9090\"\n"),
                breakage("admin on another port", "readinessProbe port", m -> { }, "admin.listen = \"0.0.0.0:9191\"\n"),
                breakage("listener moved", "targetPort", m -> { }, "listen = \"0.0.0.0:8181\"\n"),
                breakage("Service ClusterIP", "type", m -> spec(m.service()).put("type", "ClusterIP"), null),
                breakage("traffic policy Cluster", "externalTrafficPolicy",
                        m -> spec(m.service()).put("externalTrafficPolicy", "Cluster"), null),
                breakage("targetPort numeric and wrong", "targetPort",
                        m -> ((ObjectNode) spec(m.service()).path("ports").path(0)).put("targetPort", 9090), null),
                breakage("PDB selects other pods", "PodDisruptionBudget selector",
                        m -> ((ObjectNode) spec(m.pdb()).path("selector").path("matchLabels"))
                                .put("app.kubernetes.io/name", "other"), null),
                breakage("Service selects other pods", "Service selector",
                        m -> ((ObjectNode) spec(m.service()).path("selector")).put("tier", "edge"), null),
                breakage("no memory limit", "resources.limits.memory",
                        m -> ((ObjectNode) container(m).path("resources").path("limits")).remove("memory"), null),
                breakage("no requests", "resources.requests",
                        m -> ((ObjectNode) container(m).path("resources")).remove("requests"), null),
                breakage("heap past the limit", "JVM",
                        m -> ((ObjectNode) container(m).path("env").path(0)).put("value", "-Xmx2g"), null),
                breakage("config mounted elsewhere", "--config",
                        m -> ((ObjectNode) container(m).path("volumeMounts").path(0)).put("mountPath", "/etc/other"),
                        null),
                breakage("another ConfigMap mounted", "configMap",
                        m -> ((ObjectNode) podSpec(m).path("volumes").path(0).path("configMap")).put("name", "x"),
                        null));
    }

    private static Arguments breakage(String name, String expected, Consumer<Manifests> change,
            @Nullable String configLine) {
        return Arguments.of(name, expected, change, configLine);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("breakages")
    void eachRuleFailsWhenTheManifestsBreakIt(String name, String expected, Consumer<Manifests> change,
            @Nullable String configLine) throws IOException {
        Manifests manifests = load();
        if (configLine != null) {
            // HOCON: a later definition of a key wins, so a line appended overrides the file's own.
            manifests = manifests.with(manifests.configText() + "\n" + configLine);
        }
        change.accept(manifests);
        assertThat(problems(manifests)).as(name).anyMatch(p -> p.contains(expected));
    }

    /** Every rule broken, each a line naming what and why; empty when all hold. */
    static List<String> problems(Manifests m) {
        List<String> problems = new ArrayList<>();
        GatewayConfig config = config(m, problems);
        JsonNode pod = m.deployment().path("spec").path("template");
        JsonNode container = container(m);
        Map<String, Integer> ports = containerPorts(container);

        // The Deployment runs the ConfigMap's file: its volume, its mount, --config at that path.
        String mountPath = null;
        for (JsonNode volume : pod.path("spec").path("volumes")) {
            if (volume.path("configMap").path("name").asText().equals(m.configMapName())) {
                for (JsonNode mount : container.path("volumeMounts")) {
                    if (mount.path("name").asText().equals(volume.path("name").asText())) {
                        mountPath = mount.path("mountPath").asText();
                    }
                }
            }
        }
        if (mountPath == null) {
            problems.add("no volume of configMap " + m.configMapName() + " mounted in the container");
        } else {
            String configPath = mountPath.replaceAll("/$", "") + "/" + m.configKey();
            String command = join(container.path("command")) + " " + join(container.path("args"));
            if (!command.contains("--config " + configPath)) {
                problems.add("container command does not run --config " + configPath + ": " + command);
            }
        }
        if (!matches(m.deployment().path("spec").path("selector").path("matchLabels"),
                pod.path("metadata").path("labels"))) {
            problems.add("Deployment selector does not match its pod labels");
        }

        if (config != null) {
            InetSocketAddress admin = config.ops().admin().listen();
            if (admin == null || admin.getAddress().isLoopbackAddress()) {
                problems.add("admin.listen: " + admin + " (expected: an address the kubelet reaches, the pod IP or "
                        + "0.0.0.0: probes come from outside the pod's loopback)");
            }
            int adminPort = admin == null ? -1 : admin.getPort();
            probe(problems, container, "readinessProbe", "/readyz", adminPort, ports);
            probe(problems, container, "livenessProbe", "/healthz", adminPort, ports);

            // The stop sequence fits in the grace period, else SIGKILL cuts the drain short.
            long grace = pod.path("spec").path("terminationGracePeriodSeconds").asLong(30);
            long preStop = preStopSeconds(container);
            Duration stop = Duration.ofSeconds(preStop).plus(config.ops().drainDelay()).plus(config.timeouts().drain());
            if (grace <= stop.toSeconds()) {
                problems.add("terminationGracePeriodSeconds " + grace + " is not above preStop " + preStop
                        + " s + drain-delay " + config.ops().drainDelay().toSeconds() + " s + drain-timeout "
                        + config.timeouts().drain().toSeconds() + " s");
            }

            JsonNode servicePort = m.service().path("spec").path("ports").path(0);
            int target = port(servicePort.path("targetPort"), ports);
            if (target != config.listen().getPort()) {
                problems.add("Service targetPort " + servicePort.path("targetPort") + " (" + target
                        + ") is not the gateway's listener port " + config.listen().getPort());
            }
        }
        if (container.path("lifecycle").path("preStop").isMissingNode()) {
            problems.add("no preStop hook: SIGTERM would come while kube-proxy and the balancer still send here");
        }

        JsonNode spec = m.service().path("spec");
        if (!spec.path("type").asText().equals("LoadBalancer")) {
            problems.add("Service type " + spec.path("type") + " (expected: LoadBalancer)");
        }
        if (!spec.path("externalTrafficPolicy").asText().equals("Local")) {
            problems.add("Service externalTrafficPolicy " + spec.path("externalTrafficPolicy")
                    + " (expected: Local, to keep the client address and avoid a second hop)");
        }
        if (!matches(spec.path("selector"), pod.path("metadata").path("labels"))) {
            problems.add("Service selector " + spec.path("selector") + " does not match the pod labels");
        }
        JsonNode pdb = m.pdb().path("spec");
        if (!matches(pdb.path("selector").path("matchLabels"), pod.path("metadata").path("labels"))) {
            problems.add("PodDisruptionBudget selector " + pdb.path("selector") + " does not match the pod labels");
        }
        if (pdb.path("maxUnavailable").isMissingNode() && pdb.path("minAvailable").isMissingNode()) {
            problems.add("PodDisruptionBudget with neither maxUnavailable nor minAvailable");
        }

        JsonNode resources = container.path("resources");
        for (String kind : List.of("requests", "limits")) {
            for (String resource : List.of("cpu", "memory")) {
                if (resources.path(kind).path(resource).isMissingNode()) {
                    problems.add("resources." + kind + "." + resource + " not set");
                }
            }
        }
        JsonNode memoryLimit = resources.path("limits").path("memory");
        if (!memoryLimit.isMissingNode()) {
            long limit = quantity(memoryLimit.asText());
            long jvm = jvmBytes(container);
            if (jvm >= limit) {
                problems.add("JVM heap + direct memory " + jvm + " bytes do not fit in resources.limits.memory "
                        + memoryLimit.asText());
            }
        }
        return problems;
    }

    private static @Nullable GatewayConfig config(Manifests m, List<String> problems) {
        try {
            return ConfigLoader.parse(m.configText(), "deploy/kubernetes/" + m.configKey());
        } catch (ConfigProblems e) {
            for (ConfigProblem problem : e.problems()) {
                problems.add("config: " + problem);
            }
            return null;
        }
    }

    private static void probe(List<String> problems, JsonNode container, String name, String path, int adminPort,
            Map<String, Integer> ports) {
        JsonNode get = container.path(name).path("httpGet");
        if (get.isMissingNode()) {
            problems.add(name + ": no httpGet");
            return;
        }
        if (!get.path("path").asText().equals(path)) {
            problems.add(name + " path " + get.path("path") + " (expected: " + path + ")");
        }
        int port = port(get.path("port"), ports);
        if (port != adminPort) {
            problems.add(name + " port " + get.path("port") + " (" + port + ") is not the config's admin port "
                    + adminPort);
        }
    }

    /** A port as a number, or a container port's name resolved; -1 when neither. */
    private static int port(JsonNode port, Map<String, Integer> ports) {
        if (port.isInt()) {
            return port.asInt();
        }
        return ports.getOrDefault(port.asText(), -1);
    }

    private static Map<String, Integer> containerPorts(JsonNode container) {
        Map<String, Integer> ports = new HashMap<>();
        for (JsonNode port : container.path("ports")) {
            ports.put(port.path("name").asText(), port.path("containerPort").asInt());
        }
        return ports;
    }

    /** The seconds a preStop exec ["sleep", N] or a sleep action waits; 0 for any other hook. */
    private static long preStopSeconds(JsonNode container) {
        JsonNode preStop = container.path("lifecycle").path("preStop");
        if (preStop.has("sleep")) {
            return preStop.path("sleep").path("seconds").asLong();
        }
        JsonNode command = preStop.path("exec").path("command");
        if (command.size() == 2 && command.path(0).asText().endsWith("sleep")) {
            return command.path(1).asLong();
        }
        return 0;
    }

    /** -Xmx plus -XX:MaxDirectMemorySize from the container's JDK_JAVA_OPTIONS (a missing one counts as 0). */
    private static long jvmBytes(JsonNode container) {
        long bytes = 0;
        for (JsonNode env : container.path("env")) {
            Matcher m = JVM_SIZE.matcher(env.path("value").asText());
            while (m.find()) {
                long n = Long.parseLong(m.group(1));
                bytes += switch (m.group(2).toLowerCase(Locale.ROOT)) {
                    case "k" -> n << 10;
                    case "m" -> n << 20;
                    case "g" -> n << 30;
                    default -> n;
                };
            }
        }
        return bytes;
    }

    /** A Kubernetes memory quantity ("2Gi", "512Mi", "2G", bytes). */
    private static long quantity(String text) {
        Matcher m = Pattern.compile("(\\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?").matcher(text);
        if (!m.matches()) {
            throw new AssertionError("not a quantity: " + text);
        }
        long n = Long.parseLong(m.group(1));
        return m.group(2) == null ? n : switch (m.group(2)) {
            case "Ki" -> n << 10;
            case "Mi" -> n << 20;
            case "Gi" -> n << 30;
            case "Ti" -> n << 40;
            case "k" -> n * 1_000;
            case "M" -> n * 1_000_000;
            case "G" -> n * 1_000_000_000;
            default -> n * 1_000_000_000_000L;
        };
    }

    /** True when every label the selector asks for is on the pod (an empty selector matches nothing here). */
    private static boolean matches(JsonNode selector, JsonNode labels) {
        if (selector.isMissingNode() || selector.isEmpty()) {
            return false;
        }
        Iterator<Map.Entry<String, JsonNode>> fields = selector.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> label = fields.next();
            if (!labels.path(label.getKey()).equals(label.getValue())) {
                return false;
            }
        }
        return true;
    }

    private static String join(JsonNode strings) {
        List<String> parts = new ArrayList<>();
        strings.forEach(s -> parts.add(s.asText()));
        return String.join(" ", parts);
    }

    private static ObjectNode podSpec(Manifests m) {
        return (ObjectNode) m.deployment().path("spec").path("template").path("spec");
    }

    private static ObjectNode container(Manifests m) {
        return (ObjectNode) podSpec(m).path("containers").path(0);
    }

    private static ObjectNode spec(ObjectNode doc) {
        return (ObjectNode) doc.path("spec");
    }
}
