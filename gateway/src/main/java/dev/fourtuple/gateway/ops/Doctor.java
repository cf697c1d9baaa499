package dev.fourtuple.gateway.ops;

import dev.fourtuple.gateway.config.ClusterConfig;
import dev.fourtuple.gateway.config.GatewayConfig;
import dev.fourtuple.gateway.host.HostLimits;
import dev.fourtuple.gateway.transport.TransportSelector;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code doctor}: how many proxied connections this host can hold with this config, and which limit binds
 * first. For each resource: the limit, the connections it allows, what happens when it is hit, and the setting
 * that raises it. The smallest count binds.
 *
 * <p>Memory per connection comes from a measurement, not a guess:
 * {@code benchmarks/results/compare-2026-12-01.md} ({@code benchmarks/run.sh}, 8,000 idle WebSocket tunnels,
 * Java 17 with {@code config/jvm.options}): 3.3 KB of gateway memory (proportional set size after a GC) and
 * 8.0 KB of kernel slab per proxied connection. Connections that move data need more (socket buffers): the
 * figure is a ceiling for idle connections, which is what a connection gateway mostly holds.
 */
public final class Doctor {
    /** Gateway memory per idle proxied connection (benchmarks/run.sh, 2026-12-01). */
    public static final long GATEWAY_BYTES_PER_CONNECTION = 3_300;
    /** Kernel slab per idle proxied connection, its two sockets (benchmarks/run.sh, 2026-12-01). */
    public static final long KERNEL_BYTES_PER_CONNECTION = 8_000;
    /**
     * What an idle TLS connection costs on top of a plaintext one: the BoringSSL engine (native) and its
     * handler (heap): 9.9 KB per idle wss tunnel against 3.1 KB per idle ws tunnel in one run of
     * {@code benchmarks/run.sh} ({@code benchmarks/results/compare-tls-2026-12-01.md}, "an earlier run"; the later
     * run there measured 6.2 KB: the larger is taken, for planning).
     */
    public static final long TLS_BYTES_PER_CONNECTION = 6_800;
    /**
     * Full TLS 1.3 handshakes (ECDSA P-256) one core completes per second: 0.86 CPU-seconds per 1,000 in the
     * same (earlier, busier) run, so about 1,160 per CPU-second; the later run measured 0.48 (2,080): the
     * smaller is taken, for planning.
     */
    public static final long TLS_HANDSHAKES_PER_CORE_SECOND = 1_160;
    /** Fds the process holds besides connections (jars, epoll, logs): measured about 50-60 at start. */
    static final long BASELINE_FDS = 64;
    /** Memory the process needs besides connections: JVM, code, pools. */
    static final long BASELINE_BYTES = 256L << 20;
    /** A TCP socket with data in flight holds buffer pages; an idle one does not (sockstat). */
    static final long BUSY_SOCKET_BUFFER_BYTES = 64 * 1024;

    private Doctor() {
    }

    /**
     * One resource's line.
     *
     * @param resource    what is limited
     * @param limit       the limit as this host has it
     * @param connections proxied connections it allows (Long.MAX_VALUE: does not bind)
     * @param whenHit     what happens at the limit
     * @param raise       the setting that raises it
     */
    public record Row(String resource, String limit, long connections, String whenHit, String raise) {
    }

    /** The whole report. */
    public record Report(List<Row> rows, Row binding, long maxConnections, boolean belowMaxConnections) {
    }

    public static Report report(GatewayConfig config, HostLimits host) {
        List<Row> rows = new ArrayList<>();
        long reserve = config.admission().fdReserve() > 0 ? config.admission().fdReserve()
                : Math.max(64, host.openFiles() / 100);
        long fdLimit = host.openFiles();
        String fdLimitText = "RLIMIT_NOFILE " + fdLimit + " (fs.nr_open " + host.nrOpen() + ", fs.file-max "
                + host.fileMax() + ")";
        long fdBound = Math.min(fdLimit, host.fileMax() > 0 ? host.fileMax() : Long.MAX_VALUE);
        rows.add(new Row("file descriptors", fdLimitText,
                Math.max(0, (fdBound - BASELINE_FDS - reserve) / 2),
                "new clients get 503 (admission keeps " + reserve + " fds free); without it accept() fails "
                        + "with EMFILE, Too many open files",
                "LimitNOFILE= in the systemd unit (at most fs.nr_open), fs.file-max"));

        long ports = host.ports().capacity(config.upstream().localPortRange());
        Slots slots = slots(config);
        // Bound sources reserve their port at bind() unless IP_BIND_ADDRESS_NO_PORT defers it to connect(),
        // which the native transports can set and NIO cannot; unbound (kernel-chosen) sources never bind.
        boolean bindReserves = !config.upstream().bindAddressNoPort()
                || !TransportSelector.select(config.transport()).kind().isNative();
        long upstreamSlots = slots.kernelChosen() + (bindReserves ? slots.sources() : slots.bound());
        rows.add(new Row("ephemeral ports (upstream four-tuples)",
                (slots.bound() + slots.kernelChosen()) + " {source IP, backend} pair(s)"
                        + (bindReserves && slots.bound() > 0 ? " over " + slots.sources()
                        + " bound source IP(s), whose ports are shared by all their backends" : "")
                        + " x " + ports + " ports (ip_local_port_range " + host.ports().range()
                        + (config.upstream().localPortRange() == null ? ""
                        : ", local-port-range " + config.upstream().localPortRange()) + ")",
                upstreamSlots * ports,
                "new upstream connects fail with EADDRNOTAVAIL, Cannot assign requested address: 503",
                "upstream.source-addresses (more source IPs), more backend addresses, net.ipv4.ip_local_port_range"));

        long memory = host.cgroup() != null ? Math.min(host.cgroup().max(), host.memTotal()) : host.memTotal();
        long perConnection = GATEWAY_BYTES_PER_CONNECTION + KERNEL_BYTES_PER_CONNECTION;
        rows.add(new Row("memory",
                bytes(memory) + (host.cgroup() != null ? " (cgroup memory.max " + bytes(host.cgroup().max()) + ")"
                        : " (RAM)") + " at " + bytes(perConnection) + " per idle connection (measured)",
                Math.max(0, (memory - BASELINE_BYTES) / perConnection),
                "admission sheds on heap, direct or cgroup memory; without it the JVM or the OOM killer ends the process",
                "MemoryMax= / more RAM; smaller socket buffers for busy connections"));

        boolean tls = config.listeners().stream().anyMatch(l -> l.tls() != null);
        if (tls) {
            long perTlsConnection = perConnection + TLS_BYTES_PER_CONNECTION;
            rows.add(new Row("memory, TLS connections", bytes(memory) + " at " + bytes(perTlsConnection)
                    + " per idle TLS connection (measured: " + bytes(TLS_BYTES_PER_CONNECTION) + " of engine on top)",
                    Math.max(0, (memory - BASELINE_BYTES) / perTlsConnection),
                    "as memory above: admission sheds on cgroup memory, charging handshakes in flight at their peak",
                    "MemoryMax= / more RAM"));
            long rate = TLS_HANDSHAKES_PER_CORE_SECOND * host.cores();
            rows.add(new Row("TLS handshakes (CPU)", "about " + rate + " full handshakes/s on " + host.cores()
                    + " core(s) (measured " + TLS_HANDSHAKES_PER_CORE_SECOND + "/s per core, ECDSA P-256, TLS 1.3)",
                    Long.MAX_VALUE, "not a count limit: a reconnect storm of N clients takes about N / " + rate
                    + " s; beyond tls.max-concurrent-handshakes per loop new connections wait in the accept queue;"
                    + " resumed handshakes (tickets) cost a fraction",
                    "more cores; ECDSA certificates (cheaper than RSA); session tickets"));
        }

        long tcpBytes = host.tcpMemory().pressure() * HostLimits.PAGE;
        rows.add(new Row("kernel TCP memory",
                "net.ipv4.tcp_mem pressure " + host.tcpMemory().pressure() + " pages (" + bytes(tcpBytes)
                        + "); idle sockets hold none, busy ones about " + bytes(BUSY_SOCKET_BUFFER_BYTES) + " each",
                tcpBytes / (2 * BUSY_SOCKET_BUFFER_BYTES),
                "past pressure the kernel shrinks socket buffers; admission sheds (tcp-memory-high)",
                "net.ipv4.tcp_mem"));

        int loops = config.eventLoops() > 0 ? config.eventLoops() : host.cores();
        rows.add(new Row("threads / event loops", loops + " event loop(s) on " + host.cores() + " core(s)",
                Long.MAX_VALUE, "not a connection limit: a loop holds any number of connections (no thread each)",
                "event-loops"));
        rows.add(new Row("CPU", host.cores() + " core(s)", Long.MAX_VALUE,
                "not a count limit: idle connections cost no CPU; busy ones share the cores (benchmarks/http.sh)",
                "more cores"));
        long effectiveBacklog = host.somaxconn() > 0 ? Math.min(config.backlog(), host.somaxconn()) : config.backlog();
        rows.add(new Row("listen backlog", "backlog " + config.backlog() + ", net.core.somaxconn " + host.somaxconn()
                + ": " + effectiveBacklog + " connections can wait to be accepted", Long.MAX_VALUE,
                "not a count limit: a burst beyond it sees dropped SYNs and retries",
                "backlog and net.core.somaxconn"));

        long max = config.admission().maxConnections();
        if (max > 0) {
            rows.add(new Row("max-connections (config)", String.valueOf(max), max, "new clients get 503",
                    "admission.max-connections"));
        }
        Row binding = rows.get(0);
        for (Row row : rows) {
            if (row.connections() < binding.connections()) {
                binding = row;
            }
        }
        boolean below = false;
        if (max > 0) {
            for (Row row : rows) {
                if (!row.resource().startsWith("max-connections") && row.connections() < max) {
                    below = true;
                }
            }
        }
        return new Report(rows, binding, max, below);
    }

    /**
     * The four-tuple slots a config uses: distinct {bound source, backend} pairs, the distinct bound sources
     * among them, and backends reached from kernel-chosen sources (each its own slot of P ports).
     */
    private record Slots(long bound, long sources, long kernelChosen) {
    }

    private static Slots slots(GatewayConfig config) {
        Set<String> pairs = new LinkedHashSet<>();
        Set<InetAddress> sources = new LinkedHashSet<>();
        Set<InetSocketAddress> unbound = new LinkedHashSet<>();
        for (ClusterConfig cluster : config.clusters().values()) {
            List<InetAddress> clusterSources = cluster.sources(config.upstream());
            for (InetSocketAddress backend : cluster.fixedAddresses()) { // DNS backends: not known until run
                if (clusterSources.isEmpty()) {
                    unbound.add(backend);
                }
                for (InetAddress source : clusterSources) {
                    pairs.add(source + ">" + backend);
                    sources.add(source);
                }
            }
        }
        return new Slots(pairs.size(), sources.size(), unbound.size());
    }

    /** The report as text: one block per resource, the binding one marked. */
    public static String text(Report report) {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "%-40s %14s  %s%n", "resource", "connections", "limit"));
        for (Row row : report.rows()) {
            out.append(String.format(Locale.ROOT, "%-40s %14s  %s%n",
                    (row == report.binding() ? "* " : "  ") + row.resource(), count(row.connections()), row.limit()));
            out.append(String.format(Locale.ROOT, "%-40s %14s  when hit: %s%n", "", "", row.whenHit()));
            out.append(String.format(Locale.ROOT, "%-40s %14s  raise with: %s%n", "", "", row.raise()));
        }
        out.append(String.format(Locale.ROOT, "%nbinds first: %s, about %s proxied connections; raise with %s%n",
                report.binding().resource(), count(report.binding().connections()), report.binding().raise()));
        if (report.belowMaxConnections()) {
            out.append("PROBLEM: a host limit allows fewer connections than admission.max-connections ("
                    + report.maxConnections() + ")\n");
        }
        return out.toString();
    }

    /** The report as a tree for JSON. */
    public static Map<String, Object> json(Report report) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Row row : report.rows()) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("resource", row.resource());
            map.put("limit", row.limit());
            map.put("connections", row.connections() == Long.MAX_VALUE ? null : row.connections());
            map.put("whenHit", row.whenHit());
            map.put("raise", row.raise());
            map.put("binding", row == report.binding());
            rows.add(map);
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("resources", rows);
        json.put("binding", report.binding().resource());
        json.put("connections", report.binding().connections());
        json.put("belowMaxConnections", report.belowMaxConnections());
        json.put("memoryPerConnectionSource", "benchmarks/results/compare-2026-12-01.md");
        return json;
    }

    private static String count(long connections) {
        return connections == Long.MAX_VALUE ? "-" : String.format(Locale.ROOT, "%,d", connections);
    }

    private static String bytes(long bytes) {
        if (bytes >= 1L << 30) {
            return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
        }
        if (bytes >= 1L << 20) {
            return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
        }
        return String.format(Locale.ROOT, "%.1f KB", bytes / 1000.0);
    }
}
