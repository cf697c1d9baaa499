package dev.fourtuple.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fourtuple.gateway.Gateway;
import dev.fourtuple.gateway.config.ConfigLoader;
import dev.fourtuple.gateway.config.GatewayConfig;
import dev.fourtuple.gateway.demo.EchoBackend;
import dev.fourtuple.gateway.transport.TransportKind;
import dev.fourtuple.gateway.host.EphemeralPorts;
import dev.fourtuple.gateway.upstream.UpstreamTuple;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;

/**
 * The four-tuple capacity scenario: echo backends, a gateway with S source IPs in front of them, and as many
 * WebSocket tunnels through it as asked, all in this process, which is meant to run inside a network
 * namespace with a narrow {@code ip_local_port_range} (see {@code benchmarks/ports.sh} and PortsNamespaceTest).
 *
 * <pre>
 * java -cp CLASSPATH dev.fourtuple.bench.PortsScenario --sources 127.0.0.2,127.0.0.3 --backends 2 --tunnels 420
 *      [--no-port false] [--kernel-only] [--close-half [--close-with reset|fin]] [--transport epoll]
 * </pre>
 *
 * Prints one line {@code RESULT {json}}: tunnels attempted, held (101), refused (by status), errors
 * (including handshakes that hung past 10 s), echoed, the gateway's per-tuple use, and, with
 * {@code --close-half}, how many could be opened again after closing half, and TIME_WAIT counts. Clients leave
 * with a reset by default (a client that vanished: a killed process, a NAT that forgot it), or with
 * {@code --close-with fin} with a FIN, which the gateway relays to the backend as a FIN (RFC 9293 §3.6: the
 * client may still read), so the gateway is the first to close those upstream connections.
 *
 * <p>Clients bind explicit local ports from 20000 up, outside the ephemeral range under test, so only the
 * gateway's upstream side competes for ephemeral ports. {@code --kernel-only} makes the gateway's ledger
 * believe every tuple has room, so that only the kernel's EADDRNOTAVAIL limits it (the learned-capacity path).
 */
public final class PortsScenario {
    private static final int GATEWAY_PORT = 8080;
    private static final int FIRST_BACKEND_PORT = 9001;
    private static final int FIRST_CLIENT_PORT = 20000;
    private static final int BATCH = 64;
    private static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);

    private PortsScenario() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = parse(args);
        List<String> sources = options.getOrDefault("sources", "").isBlank() ? List.of()
                : List.of(options.get("sources").split(","));
        int backendCount = Integer.parseInt(options.getOrDefault("backends", "1"));
        int tunnels = Integer.parseInt(options.getOrDefault("tunnels", "100"));
        boolean noPort = Boolean.parseBoolean(options.getOrDefault("no-port", "true"));
        boolean kernelOnly = options.containsKey("kernel-only");
        boolean closeHalf = options.containsKey("close-half");
        boolean closeWithFin = "fin".equals(options.getOrDefault("close-with", "reset"));
        TransportKind transport = TransportKind.valueOf(options.getOrDefault("transport", "epoll").toUpperCase(Locale.ROOT));
        if (kernelOnly) {
            System.setProperty("fourtuple.upstream.kernel-only", "true");
        }

        Map<String, Object> result = new LinkedHashMap<>();
        result.put("sources", Math.max(1, sources.size()));
        result.put("backends", backendCount);
        result.put("ports", EphemeralPorts.read().capacity(null));
        result.put("noPort", noPort);
        result.put("kernelOnly", kernelOnly);
        result.put("attempted", tunnels);

        List<EchoBackend> backends = new ArrayList<>();
        try {
            for (int i = 0; i < backendCount; i++) {
                backends.add(EchoBackend.start(new InetSocketAddress("127.0.0.1", FIRST_BACKEND_PORT + i),
                        "b" + i, TransportKind.EPOLL, 1));
            }
            String config = "listen = \"127.0.0.1:" + GATEWAY_PORT + "\"\n"
                    + "transport = " + transport.configName() + "\nevent-loops = 2\n"
                    + "upstream { keepalive-max-idle = 0, bind-address-no-port = " + noPort + "\n"
                    + "  source-addresses = [" + sources.stream().map(s -> "\"" + s + "\"").collect(Collectors.joining(", ")) + "] }\n"
                    + "clusters { echo { backends = [" + backends.stream()
                            .map(b -> "\"127.0.0.1:" + b.address().getPort() + "\"").collect(Collectors.joining(", "))
                    + "], balancer = round-robin } }\n"
                    + "routes = [ { path-prefix = \"/\", cluster = echo } ]\n";
            GatewayConfig parsed = ConfigLoader.parse(config, "ports-scenario");
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            Gateway gateway = Gateway.start(parsed, registry);
            try (TunnelClients clients = new TunnelClients(TransportKind.EPOLL, 2)) {
                run(gateway, clients, tunnels, closeHalf, closeWithFin, result);
                result.put("eaddrnotavail", Math.round(registry.get("fourtuple.upstream.eaddrnotavail").counter().count()));
            } finally {
                gateway.close();
            }
        } finally {
            backends.forEach(EchoBackend::close);
        }
        System.out.println("RESULT " + new ObjectMapper().writeValueAsString(result));
    }

    private static void run(Gateway gateway, TunnelClients clients, int tunnels, boolean closeHalf,
            boolean closeWithFin, Map<String, Object> result) throws Exception {
        List<Channel> open = new ArrayList<>();
        Map<Integer, Integer> refused = new LinkedHashMap<>();
        List<String> errors = new ArrayList<>();
        openTunnels(clients, tunnels, FIRST_CLIENT_PORT, open, refused, errors);
        result.put("held", open.size());
        result.put("refused", refused);
        result.put("errors", errors.size());
        result.put("errorSamples", errors.stream().limit(5).toList());
        result.put("echoed", echoAll(open));
        result.put("tuples", tuples(gateway));

        if (closeHalf) {
            int half = open.size() / 2;
            for (Channel channel : open.subList(0, half)) {
                if (!closeWithFin) {
                    channel.config().setOption(ChannelOption.SO_LINGER, 0); // the client vanishes: a reset
                }
                channel.close(); // the gateway must tear the tunnel down both ways
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (gateway.upstreamMeters().active() > open.size() - half && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            result.put("timeWaitAfterClose", TimeWait.count());
            List<Channel> reopened = new ArrayList<>();
            Map<Integer, Integer> refusedAgain = new LinkedHashMap<>();
            List<String> errorsAgain = new ArrayList<>();
            openTunnels(clients, half, FIRST_CLIENT_PORT + tunnels, reopened, refusedAgain, errorsAgain);
            result.put("closed", half);
            result.put("closedWith", closeWithFin ? "fin" : "reset");
            result.put("reopened", reopened.size());
            result.put("reopenRefused", refusedAgain);
            result.put("reopenErrors", errorsAgain.size());
            result.put("reopenedEchoed", echoAll(reopened));
            open.addAll(reopened);
        }
        for (Channel channel : open) {
            channel.close();
        }
    }

    /** Opens tunnels in batches of {@link #BATCH} concurrent handshakes, each from an explicit local port. */
    private static void openTunnels(TunnelClients clients, int count, int firstLocalPort, List<Channel> open,
            Map<Integer, Integer> refused, List<String> errors) {
        InetSocketAddress gateway = new InetSocketAddress("127.0.0.1", GATEWAY_PORT);
        URI uri = URI.create("ws://127.0.0.1:" + GATEWAY_PORT + "/ws");
        for (int start = 0; start < count; start += BATCH) {
            List<CompletableFuture<TunnelClients.Outcome>> batch = new ArrayList<>();
            for (int i = start; i < Math.min(count, start + BATCH); i++) {
                batch.add(clients.open(gateway, uri, new InetSocketAddress("127.0.0.1", firstLocalPort + i),
                        HANDSHAKE_TIMEOUT));
            }
            for (CompletableFuture<TunnelClients.Outcome> future : batch) {
                TunnelClients.Outcome outcome = future.join();
                switch (outcome.status()) {
                    case OPEN -> open.add(outcome.channel());
                    case REFUSED -> refused.merge(outcome.httpStatus(), 1, Integer::sum);
                    case ERROR -> errors.add(outcome.detail());
                }
            }
        }
    }

    private static int echoAll(List<Channel> channels) {
        List<CompletableFuture<Boolean>> echoes = new ArrayList<>();
        for (int i = 0; i < channels.size(); i++) {
            echoes.add(TunnelClients.echo(channels.get(i), "ping " + i, Duration.ofSeconds(10)));
        }
        int ok = 0;
        for (CompletableFuture<Boolean> echo : echoes) {
            if (echo.join()) {
                ok++;
            }
        }
        return ok;
    }

    private static List<Map<String, Object>> tuples(Gateway gateway) {
        List<Map<String, Object>> list = new ArrayList<>();
        for (UpstreamTuple tuple : gateway.upstreamTuples()) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("source", tuple.sourceLabel());
            row.put("backend", tuple.backendLabel());
            row.put("inUse", tuple.inUse());
            list.add(row);
        }
        list.sort((a, b) -> (a.get("source") + " " + a.get("backend")).compareTo(b.get("source") + " " + b.get("backend")));
        return list;
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument: " + args[i]);
            }
            String key = args[i].substring(2);
            boolean flag = i + 1 >= args.length || args[i + 1].startsWith("--");
            options.put(key, flag ? "true" : args[++i]);
        }
        return options;
    }
}
