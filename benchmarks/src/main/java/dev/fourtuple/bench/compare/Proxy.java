package dev.fourtuple.bench.compare;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** A proxy the comparison runs: Fourtuple, HAProxy, nginx, or none (clients straight to the backend). */
interface Proxy {

    /** The row name in the report. */
    String name();

    /**
     * Starts the proxy with {@code threads} worker threads/processes, listening on {@code listen}, forwarding
     * to {@code backend}, its files in {@code dir}; returns once it accepts connections.
     */
    Running start(Setup setup) throws Exception;

    /**
     * @param listen  where clients connect
     * @param backend the echo backend (HTTP and WebSocket)
     * @param threads worker threads (HAProxy nbthread, nginx worker_processes, Fourtuple event-loops)
     * @param dir     a directory for its config and log
     * @param tls     TLS 1.3 on the listener with this certificate (null: plaintext); the backend stays plaintext
     */
    record Setup(InetSocketAddress listen, InetSocketAddress backend, int threads, Path dir,
            @Nullable Certificate tls) {
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
