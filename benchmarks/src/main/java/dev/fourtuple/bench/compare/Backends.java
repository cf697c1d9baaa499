package dev.fourtuple.bench.compare;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The echo backends every proxy forwards to, one process each ({@code fourtuple.jar echo-backend IP:PORT NAME}),
 * on consecutive ports: several backends, as users run, so a proxy's balancing and per-backend pools are in the
 * figures. They run for the whole comparison; their own cost is not measured.
 */
final class Backends implements AutoCloseable {
    private final List<ChildProcess> processes;
    private final List<InetSocketAddress> addresses;

    private Backends(List<ChildProcess> processes, List<InetSocketAddress> addresses) {
        this.processes = processes;
        this.addresses = addresses;
    }

    /** Starts {@code count} backends on 127.0.0.1:{@code firstPort}.. and waits until each accepts. */
    static Backends start(String java, Path jar, int firstPort, int count, Path dir) throws Exception {
        List<ChildProcess> started = new ArrayList<>();
        List<InetSocketAddress> addresses = new ArrayList<>();
        Backends backends = new Backends(started, addresses);
        try {
            for (int i = 0; i < count; i++) {
                InetSocketAddress address = new InetSocketAddress("127.0.0.1", firstPort + i);
                String name = "b" + (i + 1);
                // The heap the single backend of earlier runs had.
                started.add(ChildProcess.start(List.of(java, "-Xms256m", "-Xmx512m", "-jar", jar.toString(),
                        "echo-backend", "127.0.0.1:" + address.getPort(), name),
                        dir.resolve("backend-" + name + ".log"), address));
                addresses.add(address);
            }
            return backends;
        } catch (Exception e) {
            backends.close();
            throw e;
        }
    }

    List<InetSocketAddress> addresses() {
        return List.copyOf(addresses);
    }

    /** Stops each by its pid. */
    @Override
    public void close() throws Exception {
        for (ChildProcess process : processes) {
            process.close();
        }
    }
}
