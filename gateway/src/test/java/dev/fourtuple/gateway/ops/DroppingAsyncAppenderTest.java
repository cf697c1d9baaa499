package dev.fourtuple.gateway.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The shipped logback.xml (not the tests' own): with stdout stalled, a thread that logs (an event loop) goes
 * on, the events beyond the queue are dropped and counted; once stdout moves again the queued ones are
 * written, in order.
 */
@Timeout(60)
class DroppingAsyncAppenderTest {
    private static final int EVENTS = 20_000;

    private final PrintStream realOut = System.out;
    private final LoggerContext context = new LoggerContext();

    /** A stdout that takes nothing until released (journald stalled, a full pipe). */
    private static final class StalledOut extends OutputStream {
        final CountDownLatch released = new CountDownLatch(1);
        final ByteArrayOutputStream written = new ByteArrayOutputStream();

        @Override
        public void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            try {
                released.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            synchronized (written) {
                written.write(b, off, len);
            }
        }

        String text() {
            synchronized (written) {
                return written.toString(StandardCharsets.UTF_8);
            }
        }
    }

    @AfterEach
    void restore() {
        System.setOut(realOut);
        context.stop();
    }

    @Test
    void aStalledStdoutNeverStallsTheLoggingThreadAndDropsAreCounted() throws Exception {
        StalledOut stalled = new StalledOut();
        System.setOut(new PrintStream(stalled, true, StandardCharsets.UTF_8));
        URL shipped = DroppingAsyncAppender.class.getResource("/logback.xml");
        assertThat(shipped).as("the gateway's own logback.xml").isNotNull();
        context.setMDCAdapter(new LogbackMDCAdapter()); // what SLF4J's binding gives the default context
        JoranConfigurator configurator = new JoranConfigurator();
        configurator.setContext(context);
        configurator.doConfigure(shipped);
        Logger log = context.getLogger("dev.fourtuple.gateway.inbound.Loop");
        long droppedBefore = DroppingAsyncAppender.dropped();

        AtomicInteger logged = new AtomicInteger();
        Thread loop = new Thread(() -> {
            for (int i = 0; i < EVENTS; i++) {
                log.warn("event {}", i);
                logged.incrementAndGet();
            }
        }, "pretend-event-loop");
        loop.start();

        // With a synchronous appender the thread would hang in the first write until released.
        await().atMost(Duration.ofSeconds(30)).until(() -> !loop.isAlive());
        assertThat(logged).hasValue(EVENTS);
        long dropped = DroppingAsyncAppender.dropped() - droppedBefore;
        // The writer thread holds what it took before it stalled (Logback drains the queue in batches), the
        // queue holds up to 8192: the rest is dropped.
        assertThat(dropped).as("dropped while stdout stalled").isPositive().isLessThanOrEqualTo(EVENTS - 8192);
        assertThat(stalled.text()).isEmpty();

        stalled.released.countDown();
        // Every event is either written or counted as dropped: none goes missing without a count.
        await().atMost(Duration.ofSeconds(30)).until(() -> lines(stalled.text()) + dropped == EVENTS);
        String text = stalled.text();
        assertThat(text).contains(" WARN  Loop - event 0\n");
        assertThat(text.indexOf("event 100\n")).as("in order").isLessThan(text.indexOf("event 200\n"));
    }

    private static long lines(String text) {
        return text.lines().filter(line -> line.contains(" Loop - event ")).count();
    }
}
