package dev.fourtuple.gateway.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.fourtuple.gateway.testing.Closer;
import dev.fourtuple.gateway.testing.GatewayProcess;
import dev.fourtuple.gateway.transport.EventLoops;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollDomainDatagramChannel;
import io.netty.channel.unix.DomainDatagramPacket;
import io.netty.channel.unix.DomainSocketAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The test plays systemd: it owns the notify socket (a Unix datagram socket), starts the gateway with
 * NOTIFY_SOCKET and WATCHDOG_USEC, and checks what arrives and when.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SystemdNotifyIntegrationTest {
    @TempDir
    Path dir;

    @RegisterExtension
    final Closer closer = new Closer();

    /**
     * One datagram as received: its text, when, and for READY=1 whether the port its STATUS names accepted a
     * connection at that moment. The port comes from the datagram itself, on the receiving thread: nothing
     * shared with the test thread, which learns the port later from the log.
     */
    private record Notice(String text, long receivedNanos, boolean portAccepted) {
    }

    private static final Pattern SERVING = Pattern.compile("STATUS=serving on 127\\.0\\.0\\.1:(\\d+)");
    private static final String CONFIG = "listen = \"127.0.0.1:0\"\nadmin.listen = off\n"
            + "clusters { c { backends = [\"127.0.0.1:9\"] } }\nroutes = [ { cluster = c } ]\n";

    /** Listens where NOTIFY_SOCKET points, as systemd would, and keeps every datagram with when it came. */
    private List<Notice> fakeSystemd(Path socket) throws InterruptedException {
        List<Notice> notices = new CopyOnWriteArrayList<>();
        EventLoops loop = EventLoops.start(TransportKind.EPOLL, 1, "fake-systemd");
        closer.track(() -> loop.shutdown(Duration.ofSeconds(2)));
        Channel systemd = new Bootstrap().group(loop.group()).channelFactory(EpollDomainDatagramChannel::new)
                .handler(new SimpleChannelInboundHandler<DomainDatagramPacket>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, DomainDatagramPacket packet) {
                        long now = System.nanoTime();
                        String text = packet.content().toString(StandardCharsets.UTF_8);
                        Matcher serving = SERVING.matcher(text);
                        boolean accepted = text.contains("READY=1") && serving.find()
                                && accepts(Integer.parseInt(serving.group(1)));
                        notices.add(new Notice(text, now, accepted));
                    }
                })
                .bind(new DomainSocketAddress(socket.toFile())).sync().channel();
        closer.track(() -> systemd.close().syncUninterruptibly());
        return notices;
    }

    /**
     * An upgrade (SIGUSR2) under systemd: the successor says MAINPID= with its own pid and READY=1 in one
     * message once it holds everything (NotifyAccess=all lets it), the old process exits 0 without STOPPING=1
     * (the service is not stopping), and the watchdog pings go on from the successor.
     */
    @Test
    void anUpgradeHandsTheServiceToTheSuccessorMainPidThenReady() throws Exception {
        Path socket = dir.resolve("notify.sock");
        List<Notice> notices = fakeSystemd(socket);
        String config = CONFIG + "handover.socket = \"" + dir.resolve("handover.sock") + "\"\n";
        GatewayProcess old = closer.track(GatewayProcess.start(dir, config, 0,
                Map.of("NOTIFY_SOCKET", socket.toString(), "WATCHDOG_USEC", "400000")));
        old.awaitPort(Duration.ofSeconds(30));
        await().atMost(Duration.ofSeconds(10)).until(() -> count(notices, "READY=1") == 1);

        old.signal("USR2");
        long successor = old.successorPid(Duration.ofSeconds(30));
        await().atMost(Duration.ofSeconds(60)).alias("MAINPID from the successor: " + notices)
                .until(() -> count(notices, "MAINPID=" + successor) == 1);
        Notice handed = notices.stream().filter(n -> n.text().contains("MAINPID=")).findFirst().orElseThrow();
        assertThat(handed.text()).as("the main pid, then ready, in one message")
                .startsWith("MAINPID=" + successor + "\nREADY=1\nSTATUS=serving on 127.0.0.1:");
        assertThat(handed.portAccepted()).as("ready once it accepts").isTrue();
        assertThat(old.process().waitFor(30, TimeUnit.SECONDS)).as(old.logText()).isTrue();
        assertThat(old.process().exitValue()).isZero();
        assertThat(count(notices, "STOPPING=1")).as("the service did not stop").isZero();
        int pings = count(notices, "WATCHDOG=1");
        await().atMost(Duration.ofSeconds(10)).alias("the successor pings the watchdog")
                .until(() -> count(notices, "WATCHDOG=1") >= pings + 3);
    }

    @Test
    void readyAfterTheListenerWatchdogWhileAliveReloadingAroundHupStoppingOnTerm() throws Exception {
        Path socket = dir.resolve("notify.sock");
        List<Notice> notices = fakeSystemd(socket);

        GatewayProcess gateway = closer.track(GatewayProcess.start(dir, CONFIG, 0,
                Map.of("NOTIFY_SOCKET", socket.toString(), "WATCHDOG_USEC", "400000")));
        int port = gateway.awaitPort(Duration.ofSeconds(30));

        await().atMost(Duration.ofSeconds(10)).alias("first READY=1: " + notices + "\n" + gateway.logText()).until(() -> count(notices, "READY=1") == 1);
        Notice ready = notices.stream().filter(n -> n.text().contains("READY=1")).findFirst().orElseThrow();
        assertThat(ready.text()).as("the port the log names").isEqualTo("READY=1\nSTATUS=serving on 127.0.0.1:" + port);
        assertThat(ready.portAccepted()).as("READY=1 only once the port accepts").isTrue();

        // WATCHDOG_USEC = 0.4 s: a ping every 0.2 s while the loops answer. Six gaps, timed as received.
        int before = count(notices, "WATCHDOG=1");
        await().atMost(Duration.ofSeconds(10)).until(() -> count(notices, "WATCHDOG=1") >= before + 7);
        List<Long> pings = notices.stream().filter(n -> n.text().equals("WATCHDOG=1"))
                .map(Notice::receivedNanos).skip(before).limit(7).toList();
        Duration mean = Duration.ofNanos((pings.get(6) - pings.get(0)) / 6);
        assertThat(mean).as("every half WATCHDOG_USEC").isBetween(Duration.ofMillis(150), Duration.ofMillis(300));

        // A new file that needs a restart for one key: READY's STATUS shows the reload read this file, anew.
        Path config = dir.resolve("gateway.conf");
        Files.writeString(config, CONFIG + "backlog = 128\n");
        gateway.signal("HUP");
        await().atMost(Duration.ofSeconds(10)).alias("READY=1 after HUP").until(() -> count(notices, "READY=1") == 2);
        List<String> texts = notices.stream().map(Notice::text).filter(t -> !t.equals("WATCHDOG=1")).toList();
        assertThat(texts.get(1)).startsWith("RELOADING=1\nMONOTONIC_USEC=").matches("(?s).*MONOTONIC_USEC=\\d+.*");
        assertThat(texts.get(2)).isEqualTo("READY=1\nSTATUS=config version 2 from " + config
                + "; restart needed for [backlog]");

        int exit = gateway.terminate(Duration.ofSeconds(20));
        assertThat(exit).isZero();
        assertThat(notices.stream().map(Notice::text)).anyMatch(t -> t.startsWith("STOPPING=1"));
    }

    private static int count(List<Notice> notices, String text) {
        return (int) notices.stream().filter(n -> n.text().contains(text)).count();
    }

    private static boolean accepts(int port) {
        if (port == 0) {
            return false;
        }
        try (Socket probe = new Socket()) {
            probe.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            return true;
        } catch (Exception e) {
            return false;
        }
    }
}
