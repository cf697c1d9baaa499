package dev.fourtuple.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fourtuple.gateway.demo.EchoBackend;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.channel.Channel;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What an idle proxied WebSocket connection costs the gateway: the gateway runs as a child process
 * ({@code java -jar fourtuple.jar run}), N tunnels are opened through it and left idle, and the gateway's
 * resident memory (after a full GC, {@code jcmd PID GC.run}) and the kernel's TCP memory
 * ({@code /proc/net/sockstat}) are compared with before.
 *
 * <pre>
 * java -cp CLASSPATH dev.fourtuple.bench.IdleScenario --jar gateway/target/fourtuple.jar --tunnels 8000
 *      [--jvm "-Xms256m -Xmx256m"]
 * </pre>
 */
public final class IdleScenario {
    private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");
    private static final int BATCH = 200;

    private IdleScenario() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            options.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        Path jar = Path.of(options.getOrDefault("jar", "gateway/target/fourtuple.jar"));
        int tunnels = Integer.parseInt(options.getOrDefault("tunnels", "8000"));
        String jvm = options.getOrDefault("jvm", "-Xms256m -Xmx256m");

        try (EchoBackend backend = EchoBackend.start(new InetSocketAddress("127.0.0.1", 0), "b", TransportKind.EPOLL, 1);
                TunnelClients clients = new TunnelClients(TransportKind.EPOLL, 1)) {
            Path dir = Files.createTempDirectory("idle");
            Path config = dir.resolve("gateway.conf");
            Files.writeString(config, "listen = \"127.0.0.1:0\"\nadmin.listen = off\nevent-loops = 2\n"
                    + "clusters { c { backends = [\"127.0.0.1:" + backend.address().getPort() + "\"] } }\n"
                    + "routes = [ { cluster = c } ]\n");
            Path log = dir.resolve("gateway.log");
            List<String> command = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString()));
            command.addAll(List.of(jvm.trim().split("\\s+")));
            command.addAll(List.of("-jar", jar.toString(), "run", "--config", config.toString()));
            Process gateway = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            try {
                int port = awaitPort(log);
                URI uri = URI.create("ws://127.0.0.1:" + port + "/ws");
                InetSocketAddress address = new InetSocketAddress("127.0.0.1", port);
                // Warm up (JIT, pools), then measure from a collected baseline.
                List<Channel> warm = open(clients, address, uri, 200);
                warm.forEach(Channel::close);
                Thread.sleep(500);
                long rssBefore = rssAfterGc(gateway.pid());
                long tcpBefore = tcpPages();
                long slabBefore = slabBytes();
                long start = System.nanoTime();
                List<Channel> open = open(clients, address, uri, tunnels);
                double seconds = (System.nanoTime() - start) / 1e9;
                Thread.sleep(1000);
                long rssAfter = rssAfterGc(gateway.pid());
                long tcpAfter = tcpPages();
                long slabAfter = slabBytes();
                Map<String, Object> result = new LinkedHashMap<>();
                result.put("tunnels", open.size());
                result.put("jvmOptions", jvm);
                result.put("connectPerSecond", Math.round(open.size() / seconds));
                result.put("gatewayRssBeforeBytes", rssBefore);
                result.put("gatewayRssAfterBytes", rssAfter);
                result.put("gatewayRssPerTunnelBytes", (rssAfter - rssBefore) / Math.max(1, open.size()));
                result.put("tcpMemPagesDelta", tcpAfter - tcpBefore);
                // Four sockets per tunnel (client, gateway x2, backend): the gateway's two are half of it.
                result.put("kernelTcpBytesPerGatewayTunnel", (tcpAfter - tcpBefore) * 4096 / Math.max(1, open.size()) / 2);
                // Kernel slab memory (socket structs, files, epoll items) over the whole machine: the gateway's
                // two sockets of the four a tunnel has are half of it.
                result.put("kernelSlabBytesPerGatewayTunnel", (slabAfter - slabBefore) / Math.max(1, open.size()) / 2);
                System.out.println("RESULT " + new ObjectMapper().writeValueAsString(result));
                open.forEach(Channel::close);
            } finally {
                gateway.destroy();
                gateway.waitFor(20, TimeUnit.SECONDS);
                gateway.destroyForcibly();
            }
        }
    }

    private static List<Channel> open(TunnelClients clients, InetSocketAddress address, URI uri, int count) {
        List<Channel> open = new ArrayList<>();
        for (int start = 0; start < count; start += BATCH) {
            List<CompletableFuture<TunnelClients.Outcome>> batch = new ArrayList<>();
            for (int i = start; i < Math.min(count, start + BATCH); i++) {
                batch.add(clients.open(address, uri, null, Duration.ofSeconds(10)));
            }
            for (CompletableFuture<TunnelClients.Outcome> future : batch) {
                TunnelClients.Outcome outcome = future.join();
                if (outcome.status() == TunnelClients.Status.OPEN) {
                    open.add(outcome.channel());
                }
            }
        }
        return open;
    }

    /** The process's resident set after a full GC in it. */
    static long rssAfterGc(long pid) throws Exception {
        Process gc = new ProcessBuilder("jcmd", String.valueOf(pid), "GC.run").redirectErrorStream(true).start();
        gc.getInputStream().readAllBytes();
        gc.waitFor(30, TimeUnit.SECONDS);
        Thread.sleep(300);
        for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException("no VmRSS for " + pid);
    }

    /** /proc/net/sockstat "TCP: ... mem N" (pages). */
    static long tcpPages() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/net/sockstat"))) {
            Matcher m = Pattern.compile("TCP:.* mem (\\d+)").matcher(line);
            if (m.find()) {
                return Long.parseLong(m.group(1));
            }
        }
        return 0;
    }

    /** /proc/meminfo "Slab:" in bytes. */
    static long slabBytes() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("Slab:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return 0;
    }

    private static int awaitPort(Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            Matcher m = LISTENING.matcher(Files.exists(log) ? Files.readString(log) : "");
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("gateway did not start");
    }
}
