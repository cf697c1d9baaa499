package dev.fourtuple.gateway.tls;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * TLS meters: handshakes in flight, done and failed; TLS connections open; the engine's native memory as
 * estimated from them; and {@code fourtuple.tls.certificate.expiry{listener,name}}, seconds left.
 */
public final class TlsMeters {
    /**
     * Native memory of one established, idle BoringSSL connection (its SSL object; record buffers released):
     * {@code benchmarks/results/compare-tls-2026-12-01.md}, 8,000 idle wss tunnels against 8,000 idle ws
     * tunnels: 6.2 to 6.8 KB more process memory (PSS) each in two runs, of which 1.5 KB JVM heap, so 4.7 to
     * 5.3 KB native; the larger is taken.
     */
    public static final long NATIVE_BYTES_PER_CONNECTION = 5_300;
    /** Peak memory of a handshake in flight (engine state, key shares, certificate chain, records). */
    public static final long BYTES_PER_HANDSHAKE = 48 * 1024;

    private final AtomicLong inFlight = new AtomicLong();
    private final AtomicLong open = new AtomicLong();
    private final Counter done;
    private final Counter failed;
    private final Counter timedOut;
    private final MultiGauge expiry;

    public TlsMeters(MeterRegistry registry) {
        Gauge.builder("fourtuple.tls.handshakes.in.flight", inFlight, AtomicLong::get)
                .description("TLS handshakes started and not yet done").register(registry);
        Gauge.builder("fourtuple.tls.connections", open, AtomicLong::get)
                .description("client connections whose TLS handshake is done, open").register(registry);
        Gauge.builder("fourtuple.tls.native.memory.estimated", this, TlsMeters::estimatedNativeBytes)
                .baseUnit("bytes")
                .description("TLS engine memory outside heap and direct memory, estimated from the counts")
                .register(registry);
        done = Counter.builder("fourtuple.tls.handshakes").tag("result", "done").register(registry);
        failed = Counter.builder("fourtuple.tls.handshakes").tag("result", "failed").register(registry);
        timedOut = Counter.builder("fourtuple.tls.handshakes").tag("result", "timeout").register(registry);
        expiry = MultiGauge.builder("fourtuple.tls.certificate.expiry").baseUnit("seconds")
                .description("time until the certificate's leaf expires").register(registry);
    }

    /** Estimated native bytes of the engines: established connections plus handshakes at their peak. */
    public long estimatedNativeBytes() {
        return open.get() * NATIVE_BYTES_PER_CONNECTION + inFlight.get() * BYTES_PER_HANDSHAKE;
    }

    public long handshakesInFlight() {
        return inFlight.get();
    }

    public long connections() {
        return open.get();
    }

    public double handshakesDone() {
        return done.count();
    }

    public double handshakesFailed() {
        return failed.count() + timedOut.count();
    }

    void handshakeStarted() {
        inFlight.incrementAndGet();
    }

    /** A handshake ended: {@code result} is done, failed or timeout. */
    void handshakeEnded(HandshakeResult result) {
        inFlight.decrementAndGet();
        switch (result) {
            case DONE -> {
                done.increment();
                open.incrementAndGet();
            }
            case FAILED -> failed.increment();
            case TIMEOUT -> timedOut.increment();
        }
    }

    void connectionClosed() {
        open.decrementAndGet();
    }

    /** Replaces the expiry gauges with the certificates of every TLS listener now serving. */
    public void certificates(List<ServerTls> listeners) {
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        for (ServerTls tls : listeners) {
            for (CertificateBundle bundle : tls.certificates()) {
                rows.add(MultiGauge.Row.of(Tags.of("listener", tls.listener(), "name", bundle.name()), bundle,
                        b -> b.remaining(Instant.now()).toSeconds()));
            }
        }
        expiry.register(rows, true);
    }

    enum HandshakeResult { DONE, FAILED, TIMEOUT }
}
