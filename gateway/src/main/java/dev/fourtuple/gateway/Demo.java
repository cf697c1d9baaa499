package dev.fourtuple.gateway;

import dev.fourtuple.gateway.config.ClusterConfig;
import dev.fourtuple.gateway.config.ConfigLoader;
import dev.fourtuple.gateway.config.ConfigProblems;
import dev.fourtuple.gateway.config.GatewayConfig;
import dev.fourtuple.gateway.demo.EchoBackend;
import dev.fourtuple.gateway.ops.Signals;
import dev.fourtuple.gateway.transport.TransportKind;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/**
 * {@code fourtuple demo}: the echo backends named in {@code config/demo.conf} (or the jar's copy), started in
 * this JVM, and the gateway in front of them; then what to try. Ctrl-C stops it.
 */
final class Demo {
    private static final Path DEMO_FILE = Path.of("config", "demo.conf");
    private static final String DEMO_RESOURCE = "demo.conf";

    private Demo() {
    }

    static int run(PrintStream out, PrintStream err) throws InterruptedException {
        GatewayConfig config;
        try {
            config = load();
        } catch (ConfigProblems e) {
            Main.printProblems("demo", e, err);
            return Main.INVALID;
        }
        List<EchoBackend> backends = new ArrayList<>();
        Set<InetSocketAddress> addresses = new LinkedHashSet<>();
        for (ClusterConfig cluster : config.clusters().values()) {
            addresses.addAll(cluster.fixedAddresses());
        }
        Service service;
        try {
            int n = 1;
            for (InetSocketAddress address : addresses) {
                try {
                    backends.add(EchoBackend.start(address, "echo-" + n++, TransportKind.NIO, 1));
                } catch (Exception e) { // a failed bind() throws its IOException unchecked
                    throw BindFailedException.of("demo echo backend", address, e);
                }
            }
            service = Service.start(config, Files.isRegularFile(DEMO_FILE) ? DEMO_FILE : null);
        } catch (BindFailedException e) {
            backends.forEach(EchoBackend::close);
            err.println(config.source() + ": " + e.getMessage());
            return Main.FAILED;
        } catch (Exception e) { // anything else: one line, no stack trace
            backends.forEach(EchoBackend::close);
            err.println(config.source() + ": could not start: " + e);
            return Main.FAILED;
        }
        Gateway gateway = service.gateway();
        String base = "http://" + Gateway.format(gateway.address());
        String ws = "ws://" + Gateway.format(gateway.address());
        out.println();
        out.println("Fourtuple demo: gateway on " + base + " (" + gateway.transport().configName() + "), "
                + backends.size() + " echo backend(s) behind it, config " + config.source());
        out.println("Try:");
        out.println("  curl -i " + base + "/hello                       # which backend answered, headers it got");
        out.println("  curl -i " + base + "/poll?wait=3000              # a long-poll answered after 3 s");
        out.println("  curl -s " + base + "/bytes?n=10000000 | wc -c    # a 10 MB streamed download");
        out.println("  curl -s -T README.md " + base + "/upload           # a streamed upload, echoed back");
        out.println("  a WebSocket client on " + ws + "/ws             # every frame is echoed");
        out.println("    e.g. npx wscat -c " + ws + "/ws   or   python3 -m websockets " + ws + "/ws");
        if (service.admin() != null) {
            out.println("  curl -s http://" + Gateway.format(service.admin().address()) + "/status   # what the gateway holds");
            out.println("  curl -s http://" + Gateway.format(service.admin().address()) + "/metrics  # Prometheus");
        }
        out.println("Ctrl-C stops it.");
        Signals.onTerminate(() -> {
            service.drainAndStop();
            backends.forEach(EchoBackend::close);
        });
        Signals.onReload(service::reload);
        new CountDownLatch(1).await();
        return Main.OK;
    }

    private static GatewayConfig load() throws ConfigProblems {
        if (Files.isRegularFile(DEMO_FILE)) {
            return ConfigLoader.load(DEMO_FILE);
        }
        try (InputStream in = Demo.class.getClassLoader().getResourceAsStream(DEMO_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(DEMO_RESOURCE + " is missing from the jar: broken build");
            }
            return ConfigLoader.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "demo.conf (embedded)");
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the embedded " + DEMO_RESOURCE, e);
        }
    }
}
