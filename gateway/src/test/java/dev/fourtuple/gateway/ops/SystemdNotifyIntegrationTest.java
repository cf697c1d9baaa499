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

    /** One datagram as received, with whether the gateway's port accepted a connection at that moment. */
    private record Notice(String text, boolean portAccepted) {
    }

    @Test
    void readyAfterTheListenerWatchdogWhileAliveReloadingAroundHupStoppingOnTerm() throws Exception {
        Path socket = dir.resolve("notify.sock");
        List<Notice> notices = new CopyOnWriteArrayList<>();
        int[] port = {0};
        EventLoops loop = EventLoops.start(TransportKind.EPOLL, 1, "fake-systemd");
        closer.track(() -> loop.shutdown(Duration.ofSeconds(2)));
        Channel systemd = new Bootstrap().group(loop.group()).channelFactory(EpollDomainDatagramChannel::new)
                .handler(new SimpleChannelInboundHandler<DomainDatagramPacket>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, DomainDatagramPacket packet) {
                        String text = packet.content().toString(StandardCharsets.UTF_8);
                        notices.add(new Notice(text, text.contains("READY=1") && accepts(port[0])));
                    }
                })
                .bind(new DomainSocketAddress(socket.toFile())).sync().channel();
        closer.track(() -> systemd.close().syncUninterruptibly());
        Path config = dir.resolve("gateway.conf");

        GatewayProcess gateway = closer.track(GatewayProcess.start(dir, "listen = \"127.0.0.1:0\"\nadmin.listen = off\n"
                + "clusters { c { backends = [\"127.0.0.1:9\"] } }\nroutes = [ { cluster = c } ]\n", 0,
                Map.of("NOTIFY_SOCKET", socket.toString(), "WATCHDOG_USEC", "400000")));
        port[0] = gateway.awaitPort(Duration.ofSeconds(30));

        await().atMost(Duration.ofSeconds(10)).alias("first READY=1: " + notices + "\n" + gateway.logText()).until(() -> count(notices, "READY=1") == 1);
        Notice ready = notices.stream().filter(n -> n.text().contains("READY=1")).findFirst().orElseThrow();
        assertThat(ready.portAccepted()).as("READY=1 only once the port accepts").isTrue();
        assertThat(ready.text()).contains("STATUS=serving on 127.0.0.1:" + port[0]);

        // WATCHDOG_USEC = 0.4 s: a ping every 0.2 s while the loops answer.
        int before = count(notices, "WATCHDOG=1");
        Thread.sleep(1000);
        assertThat(count(notices, "WATCHDOG=1") - before).isBetween(3, 7);

        gateway.signal("HUP");
        await().atMost(Duration.ofSeconds(10)).alias("READY=1 after HUP").until(() -> count(notices, "READY=1") == 2);
        List<String> texts = notices.stream().map(Notice::text).filter(t -> !t.equals("WATCHDOG=1")).toList();
        assertThat(texts.get(1)).startsWith("RELOADING=1\nMONOTONIC_USEC=").matches("(?s).*MONOTONIC_USEC=\\d+.*");
        assertThat(texts.get(2)).startsWith("READY=1").contains("config version 2");
        assertThat(Files.exists(config)).isTrue();

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
