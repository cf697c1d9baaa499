package dev.fourtuple.bench.compare;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** A proxy the comparison runs: Fourtuple, HAProxy, nginx, or none (clients straight to a backend). */
interface Proxy {

    /** The row name in the report. */
    String name();

    /**
     * Starts the proxy with {@code threads} worker threads/processes, listening on {@code listen}, forwarding
     * to {@code backends} in turn, its files in {@code dir}; returns once it accepts connections.
     */
    Running start(Setup setup) throws Exception;

    /**
     * @param listen          where clients connect
     * @param backends        the echo backends (HTTP and WebSocket), balanced round robin
     * @param threads         worker threads (HAProxy nbthread, nginx worker_processes, Fourtuple event-loops)
     * @param dir             a directory for its config and log
     * @param tls             TLS 1.3 on the listener with this certificate (null: plaintext); the backends stay
     *                        plaintext
     * @param upstreamSources the source IPs Fourtuple's upstream connections leave from
     *                        ({@code upstream.source-addresses}); HAProxy and nginx keep their default (no
     *                        bind: the kernel picks the source), as their users run them
     */
    record Setup(InetSocketAddress listen, List<InetSocketAddress> backends, int threads, Path dir,
            @Nullable Certificate tls, List<InetAddress> upstreamSources) {
        public Setup {
            backends = List.copyOf(backends);
            upstreamSources = List.copyOf(upstreamSources);
        }
    }

    /** A started proxy. */
    interface Running extends AutoCloseable {
        /** Where clients connect. */
        InetSocketAddress address();

        /** The proxy's root process (its workers are its descendants), or -1 for no proxy. */
        long pid();

        /** The version line the proxy reports. */
        String version();

        /** Brings memory to its steady state before a reading (a full GC for a JVM; nothing otherwise). */
        default void settle() throws Exception {
        }

        /** JVM heap and direct memory in use, by name (empty for a non-JVM proxy). */
        default Map<String, Long> jvmMemory() throws Exception {
            return Map.of();
        }

        @Override
        void close() throws Exception;
    }
}
