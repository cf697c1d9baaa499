package dev.fourtuple.gateway.ops;

import dev.fourtuple.gateway.transport.EventLoops;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.epoll.EpollDomainDatagramChannel;
import io.netty.channel.unix.DomainDatagramPacket;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells systemd (a {@code Type=notify} service) how the gateway is doing, with datagrams to
 * {@code $NOTIFY_SOCKET} (sd_notify(3)) sent through Netty's epoll Unix-domain datagram channel: no JNI of our
 * own, no shelling out to systemd-notify. Without {@code NOTIFY_SOCKET} every call does nothing.
 *
 * <p>READY=1 once serving; RELOADING=1 with MONOTONIC_USEC (so {@code Type=notify-reload} works, systemd 253+)
 * and READY=1 around a reload; STOPPING=1 on drain; WATCHDOG=1 every half {@code $WATCHDOG_USEC}, but only
 * while the gateway's event loops answer (a stuck loop stops the pings and systemd restarts the service).
 */
public final class SystemdNotifier implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SystemdNotifier.class);

    private final @Nullable EventLoops loop;
    private final @Nullable Channel channel;
    private final @Nullable DomainSocketAddress target;
    private final long watchdogMicros;

    private SystemdNotifier(@Nullable EventLoops loop, @Nullable Channel channel, @Nullable DomainSocketAddress target,
            long watchdogMicros) {
        this.loop = loop;
        this.channel = channel;
        this.target = target;
        this.watchdogMicros = watchdogMicros;
    }

    /** From NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID of the given environment. */
    public static SystemdNotifier fromEnvironment(Map<String, String> env) {
        String socket = env.get("NOTIFY_SOCKET");
        if (socket == null || socket.isEmpty()) {
            return new SystemdNotifier(null, null, null, 0);
        }
        if (!TransportKind.EPOLL.isAvailable()) {
            log.warn("NOTIFY_SOCKET is set but the epoll transport does not load here: systemd is not notified");
            return new SystemdNotifier(null, null, null, 0);
        }
        // An abstract socket is written "@name"; its address starts with a NUL byte.
        String path = socket.startsWith("@") ? "\0" + socket.substring(1) : socket;
        long watchdog = 0;
        String usec = env.get("WATCHDOG_USEC");
        String pid = env.get("WATCHDOG_PID");
        if (usec != null && (pid == null || pid.equals(String.valueOf(ProcessHandle.current().pid())))) {
            watchdog = Long.parseLong(usec.trim());
        }
        EventLoops loops = EventLoops.start(TransportKind.EPOLL, 1, "fourtuple-notify");
        try {
            // Connected, so the channel is active and every write goes to systemd.
            DomainSocketAddress target = new DomainSocketAddress(path);
            Channel channel = new Bootstrap()
                    .group(loops.group())
                    .channelFactory(EpollDomainDatagramChannel::new)
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(target).sync().channel();
            return new SystemdNotifier(loops, channel, target, watchdog);
        } catch (Exception e) {
            loops.shutdown(Duration.ofSeconds(1));
            log.warn("cannot open a datagram socket for NOTIFY_SOCKET {}: {}", socket, e.toString());
            return new SystemdNotifier(null, null, null, 0);
        }
    }

    /** Serving: every listener is bound. */
    public void ready(String status) {
        send("READY=1\nSTATUS=" + status);
    }

    /**
     * Serving, as the service's main process from now on: a successor that took over from the process systemd
     * started (MAINPID=, which needs {@code NotifyAccess=all}: the sender is not the main process yet).
     */
    public void readyAsMain(String status) {
        send("MAINPID=" + ProcessHandle.current().pid() + "\nREADY=1\nSTATUS=" + status);
    }

    /** A reload starts; {@link #ready} ends it. */
    public void reloading() {
        // CLOCK_MONOTONIC in microseconds: on Linux System.nanoTime() reads CLOCK_MONOTONIC.
        send("RELOADING=1\nMONOTONIC_USEC=" + System.nanoTime() / 1000 + "\nSTATUS=reloading");
    }

    /** Draining before exit. */
    public void stopping() {
        send("STOPPING=1\nSTATUS=draining");
    }

    public void status(String status) {
        send("STATUS=" + status);
    }

    /** Starts WATCHDOG=1 pings at half of WATCHDOG_USEC while {@code healthy} says yes; no-op without it. */
    public void startWatchdog(BooleanSupplier healthy) {
        EventLoops notifyLoop = loop;
        if (notifyLoop == null || watchdogMicros <= 0) {
            return;
        }
        long period = Math.max(1, watchdogMicros / 2);
        // Fixed delay, not fixed rate: after a stall (GC, a starved CPU) one ping follows, not a burst of the
        // missed ones, which would tell systemd nothing more and make the pings' spacing lie.
        notifyLoop.group().scheduleWithFixedDelay(() -> {
            if (healthy.getAsBoolean()) {
                send("WATCHDOG=1");
            } else {
                log.warn("watchdog: an event loop did not answer; not telling systemd we are alive");
            }
        }, period, period, TimeUnit.MICROSECONDS);
    }

    private void send(String message) {
        Channel out = channel;
        DomainSocketAddress to = target;
        if (out == null || to == null) {
            return;
        }
        out.writeAndFlush(new DomainDatagramPacket(
                Unpooled.copiedBuffer(message, StandardCharsets.UTF_8), to)).addListener(sent -> {
                    if (!sent.isSuccess()) {
                        log.warn("sd_notify {} failed: {}", message.replace('\n', ' '), sent.cause().toString());
                    }
                });
    }

    @Override
    public void close() {
        Channel out = channel;
        if (out != null) {
            out.close().syncUninterruptibly();
        }
        EventLoops notifyLoop = loop;
        if (notifyLoop != null) {
            notifyLoop.shutdown(Duration.ofSeconds(1));
        }
    }
}
