package dev.fourtuple.gateway.integration;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayFixture;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.util.internal.PlatformDependent;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A client that reads slowly must not make the gateway buffer what the backend sends faster: the gateway's
 * direct memory stays bounded while a 50 MiB download trickles out.
 *
 * <p>Checked against a gateway with the read gate removed (upstream read again after every read, writable
 * or not): on epoll the peak went to 46-50 MiB and this test failed; NIO and io_uring happened to pace their
 * reads in this setup (peaks of 0.5-4 MiB) even without it, so epoll, the default, is the run that proves it.
 */
@ParameterizedClass
@EnumSource(TransportKind.class)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class BackpressureIntegrationTest {
    private static final int SIZE = 50 * 1024 * 1024;
    /** Without backpressure the gateway would hold most of the 50 MiB; with it, a few read buffers. */
    private static final long BOUND = 16 * 1024 * 1024;

    @Parameter
    TransportKind transport;

    @RegisterExtension
    final Closer closer = new Closer();
    private GatewayFixture fixture;


    @Test
    void slowReaderKeepsDirectMemoryBounded() throws Exception {
        assertThat(PlatformDependent.usedDirectMemory()).as("Netty tracks its direct memory").isGreaterThanOrEqualTo(0);
        fixture = closer.track(GatewayFixture.simple(transport, 1, ""));
        long baseline = PlatformDependent.usedDirectMemory();
        AtomicLong peak = new AtomicLong(baseline);
        AtomicBoolean sampling = new AtomicBoolean(true);
        Thread sampler = new Thread(() -> {
            while (sampling.get()) {
                peak.accumulateAndGet(PlatformDependent.usedDirectMemory(), Math::max);
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        sampler.start();

        long received;
        try (Socket socket = new Socket()) {
            // Default receive buffer: a tiny one makes TCP crawl (zero windows, delayed ACKs), not the reader.
            socket.connect(fixture.address(), 5000);
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(("GET /bytes?n=" + SIZE + " HTTP/1.1\r\nHost: t\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            received = readBodySlowly(socket.getInputStream());
        } finally {
            sampling.set(false);
            sampler.join();
        }

        assertThat(received).isEqualTo(SIZE);
        assertThat(peak.get() - baseline).as("direct memory held by gateway and backend while relaying")
                .isLessThan(BOUND);
    }

    /** Skips the head, then reads the body in small pieces with pauses, checking the byte pattern. */
    private static long readBodySlowly(InputStream in) throws Exception {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            head.append((char) in.read());
        }
        assertThat(head.toString()).startsWith("HTTP/1.1 200 ");
        byte[] buffer = new byte[64 * 1024];
        long total = 0;
        while (total < SIZE) {
            int n = in.read(buffer);
            if (n < 0) {
                break;
            }
            for (int i = 0; i < n; i += 997) {
                assertThat(buffer[i]).isEqualTo((byte) ((total + i) % 251));
            }
            total += n;
            Thread.sleep(2); // at most ~32 MB/s: far slower than the backend sends over loopback
        }
        return total;
    }
}
