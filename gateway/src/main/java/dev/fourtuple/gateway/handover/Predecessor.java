package dev.fourtuple.gateway.handover;

import dev.fourtuple.gateway.connection.Departure;
import dev.fourtuple.gateway.transport.EventLoops;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.Socket;
import io.netty.channel.unix.UnixChannel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running process's side of a handover: listens on the handover socket, and when a successor says hello
 * with the same listeners, passes it the listening sockets, then every connection that can move, in batches
 * (at most {@link #IN_FLIGHT} on their way at once, so neither process stalls), then says {@code Done} and lets
 * the process drain what is left. Also takes the {@code upgrade} command's request to start a successor.
 * Everything here runs on its own one-thread loop, never on the gateway's.
 */
public final class Predecessor implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Predecessor.class);
    /**
     * Connections on their way at once (quieted or sent, not yet acknowledged): batches, so that neither process
     * stalls and the sockets open in both at once stay bounded.
     */
    static final int IN_FLIGHT = 512;
    /** Asked for on the sockets connection (the kernel caps it at net.core.wmem_max, doubled). */
    private static final int SOCKETS_SNDBUF = 1 << 20;
    /** Between sweeps of the loops for connections that can move (busy ones are tried again). */
    private static final long SWEEP_MILLIS = 10;
    /** How long a connection that cannot move yet (a request in flight) is waited for before Done. */
    private static final Duration SETTLE = Duration.ofSeconds(2);

    /** What the running process offers a handover. Called on the handover loop unless said otherwise. */
    public interface Host {
        /** Each listener as {@code name@address[/tls]}, in config order: a successor must have the same. */
        List<String> listeners();

        /** Each listener's listening sockets (fds), by name, in config order. */
        Map<String, List<Integer>> listenerSockets();

        /** Stops accepting (the sockets stay open here until {@link #releaseListeners}). */
        void pauseListeners();

        /** The successor failed before it took over: accept again. */
        void resumeListeners();

        /** The successor holds the listening sockets for good: close this process's copies. */
        void releaseListeners();

        /**
         * Starts moving up to {@code max} connections that can move now; {@code ready} gets each once it is quiet
         * (on its loop), {@code swept} how many started and how many connections are left (once, any thread).
         */
        void depart(int max, Consumer<Departure> ready, BiConsumer<Integer, Integer> swept);

        /** Client connections this process still holds (a gauge: never blocks). */
        long connections();

        /** True while it serves (not draining, not stopping): only then may a successor take over. */
        boolean serving();

        /** Everything that could move has: let go of what the successor needs next (the admin port). Blocking. */
        void handedOver(long moved, long left);

        /** After {@code Done} was sent: drain what is left, stop and exit. On a thread of its own. */
        void drainAndExit();
    }

    private final Path path;
    private final Host host;
    private final EventLoops loop;
    private final EventLoop executor;
    private @Nullable Channel server;
    private @Nullable Session session;
    private @Nullable Process launched;
    private @Nullable Channel upgradeRequester;
    private boolean finished;

    private Predecessor(Path path, Host host, EventLoops loop) {
        this.path = path;
        this.host = host;
        this.loop = loop;
        this.executor = loop.loops().get(0);
    }

    /**
     * Listens on {@code path} (a socket file no process answers on is removed first).
     *
     * @throws IllegalStateException naming the path when it cannot listen there
     */
    public static Predecessor listen(Path path, Host host) {
        EventLoops loop = EventLoops.start(TransportKind.EPOLL, 1, "fourtuple-handover");
        Predecessor predecessor = new Predecessor(path, host, loop);
        try {
            predecessor.bind().syncUninterruptibly();
        } catch (RuntimeException e) {
            loop.shutdown(Duration.ofSeconds(1));
            throw new IllegalStateException("handover.socket " + path + ": cannot listen: " + e.getMessage(), e);
        }
        log.info("handover socket {}: a successor takes over here (fourtuple upgrade, or SIGUSR2)", path);
        return predecessor;
    }

    private ChannelFuture bind() {
        try {
            Files.createDirectories(path.getParent());
            Files.deleteIfExists(path); // a live predecessor would have been taken over before this runs
        } catch (IOException e) {
            throw new IllegalStateException(e.toString(), e);
        }
        ChannelFuture bound = new ServerBootstrap()
                .group(executor)
                .channel(EpollServerDomainSocketChannel.class)
                .childOption(ChannelOption.SO_SNDBUF, SOCKETS_SNDBUF)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        MessageCodec.addTo(ch.pipeline());
                        ch.pipeline().addLast(new Peer());
                    }
                })
                .bind(new DomainSocketAddress(path.toString()));
        server = bound.channel();
        return bound;
    }

    /** SIGUSR2: starts a successor with this process's command line; the successor does the rest. Any thread. */
    public void upgrade() {
        executor.execute(() -> launch(null));
    }

    private void launch(@Nullable Channel requester) {
        if (session != null || launched != null || finished || !host.serving()) {
            String why = finished ? "this process has handed over already" : !host.serving() ? "this process is stopping"
                    : "a successor is already taking over";
            log.warn("upgrade: not started: {}", why);
            if (requester != null) {
                requester.writeAndFlush(new Message.Outcome(false, why));
            }
            return;
        }
        try {
            Process process = SuccessorLauncher.launch();
            launched = process;
            upgradeRequester = requester;
            log.info("upgrade: started successor pid {} with this process's command line", process.pid());
            process.onExit().thenAccept(exited -> executor.execute(() -> successorExited(exited)));
        } catch (IOException | RuntimeException e) {
            log.error("upgrade: cannot start a successor: {}", e.toString());
            if (requester != null) {
                requester.writeAndFlush(new Message.Outcome(false, "cannot start a successor: " + e));
            }
        }
    }

    private void successorExited(Process process) {
        if (launched != process) {
            return;
        }
        launched = null;
        if (!finished) {
            log.error("upgrade: successor pid {} exited with code {} before it took over; this process goes on "
                    + "serving", process.pid(), process.exitValue());
            tellRequester(false, "successor pid " + process.pid() + " exited with code " + process.exitValue()
                    + " before it took over (see its log); pid " + ProcessHandle.current().pid() + " goes on serving");
        }
    }

    private void tellRequester(boolean ok, String message) {
        Channel requester = upgradeRequester;
        upgradeRequester = null;
        if (requester != null) {
            requester.writeAndFlush(new Message.Outcome(ok, message));
        }
    }

    /** One accepted connection: the successor's control or sockets connection, or the upgrade command's. */
    private final class Peer extends SimpleChannelInboundHandler<Message> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Message msg) {
            Session current = session;
            if (msg instanceof Message.Hello hello) {
                hello(ctx.channel(), hello);
            } else if (msg instanceof Message.Upgrade) {
                launch(ctx.channel());
            } else if (current != null && msg instanceof Message.Sockets && current.sockets == null
                    && ctx.channel() != current.control) {
                current.socketsConnected(ctx.channel());
            } else if (current != null && ctx.channel() == current.control) {
                current.onMessage(msg);
            } else {
                log.warn("handover socket: unexpected {} from {}; closing it", msg, ctx.channel());
                ctx.close();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            Session current = session;
            if (current != null && (ctx.channel() == current.control || ctx.channel() == current.sockets)) {
                current.lost("the successor's " + (ctx.channel() == current.control ? "control" : "sockets")
                        + " connection closed");
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.warn("handover socket: {} failed: {}", ctx.channel(), cause.toString());
            ctx.close();
        }
    }

    private void hello(Channel control, Message.Hello hello) {
        String refusal = session != null ? "a successor is already taking over"
                : finished ? "this process has handed over already"
                : !host.serving() ? "this process is stopping"
                : !hello.listeners().equals(host.listeners()) ? "its listeners " + hello.listeners()
                        + " are not this process's " + host.listeners()
                        + " (a listener change needs a restart)"
                : null;
        if (refusal != null) {
            log.error("handover: refused successor pid {}: {}", hello.pid(), refusal);
            control.writeAndFlush(new Message.Refused(refusal)).addListener(written -> control.close());
            return;
        }
        log.info("handover: successor pid {} is taking over", hello.pid());
        session = new Session(control, hello.pid());
        control.writeAndFlush(new Message.Welcome(ProcessHandle.current().pid()));
    }

    /** One successor taking over. */
    private final class Session {
        final Channel control;
        final long pid;
        @Nullable Channel sockets;
        boolean paused;
        long nextId = 1;
        long moved;
        int starting;
        long settleUntil;
        /** Sockets (fds) not yet passed, in the order the successor expects them; open here until Taken. */
        final ArrayDeque<Integer> unsent = new ArrayDeque<>();
        boolean retrying;
        final Map<Long, Departure> onTheirWay = new HashMap<>();

        Session(Channel control, long pid) {
            this.control = control;
            this.pid = pid;
        }

        void socketsConnected(Channel channel) {
            sockets = channel;
            host.listenerSockets().forEach((name, fds) -> {
                control.write(new Message.Listener(name, fds.size()));
                pass(fds);
            });
            control.flush();
        }

        /**
         * Passes {@code fds} on the sockets connection (SCM_RIGHTS, unix(7)), after those before them, as fast
         * as its send buffer takes them. Not through the channel's write: Netty 4.2's EpollDomainSocketChannel (a
         * final class) cannot wait for room for a FileDescriptor: when sendmsg says EAGAIN its doWriteSingle
         * falls through to the byte path, which throws, and the channel shuts its output (seen with a few hundred
         * sockets on their way). So they are sent here, and on EAGAIN again a millisecond later.
         */
        void pass(List<Integer> fds) {
            unsent.addAll(fds);
            passUnsent();
        }

        private void passUnsent() {
            Channel out = sockets;
            if (session != this || out == null || retrying) {
                return;
            }
            Socket socket = (Socket) ((UnixChannel) out).fd();
            try {
                while (!unsent.isEmpty()) {
                    if (socket.sendFd(unsent.peek()) < 0) { // EAGAIN: the successor has yet to read what came before
                        retrying = true;
                        executor.schedule(() -> {
                            retrying = false;
                            passUnsent();
                        }, 1, TimeUnit.MILLISECONDS);
                        return;
                    }
                    unsent.poll();
                }
            } catch (IOException e) {
                lost("cannot pass a socket: " + e.getMessage());
            }
        }

        void onMessage(Message msg) {
            if (msg instanceof Message.Accepting) {
                host.pauseListeners();
                paused = true;
                log.info("handover: successor pid {} accepts on the listening sockets; this process stopped; moving "
                        + "{} connection(s)", pid, host.connections());
                settleUntil = System.nanoTime() + SETTLE.toNanos();
                sweep();
            } else if (msg instanceof Message.Taken taken) {
                Departure departure = onTheirWay.remove(taken.id());
                if (departure != null) {
                    if (taken.ok()) {
                        moved++;
                        departure.arrived();
                    } else {
                        departure.lost();
                    }
                }
            } else {
                log.warn("handover: unexpected {} from successor pid {}", msg, pid);
            }
        }

        /** Asks every loop for what can move now; the next sweep follows once each has answered. */
        void sweep() {
            if (session != this) {
                return;
            }
            int room = IN_FLIGHT - onTheirWay.size() - starting;
            if (room <= 0) {
                executor.schedule(this::sweep, SWEEP_MILLIS, TimeUnit.MILLISECONDS);
                return;
            }
            host.depart(room, departure -> executor.execute(() -> send(departure)),
                    (started, remaining) -> executor.execute(() -> swept(started, remaining)));
        }

        void swept(int started, int remaining) {
            starting += started;
            if (session != this) {
                return;
            }
            if (started == 0 && starting == 0 && onTheirWay.isEmpty()
                    && (remaining == 0 || System.nanoTime() - settleUntil >= 0)) {
                done();
                return;
            }
            if (started > 0) {
                settleUntil = System.nanoTime() + SETTLE.toNanos(); // more may become movable (a request ends)
            }
            executor.schedule(this::sweep, SWEEP_MILLIS, TimeUnit.MILLISECONDS);
        }

        void send(Departure departure) {
            starting--;
            Channel out = sockets;
            if (session != this || out == null || !departure.channels().stream().allMatch(Channel::isOpen)) {
                departure.lost();
                return;
            }
            long id = nextId++;
            onTheirWay.put(id, departure);
            control.writeAndFlush(new Message.Connection(id, departure.kind(), departure.channels().size(),
                    MessageCodec.JSON.valueToTree(departure.state())));
            pass(departure.channels().stream().map(channel -> ((UnixChannel) channel).fd().intValue()).toList());
        }

        void done() {
            finished = true;
            session = null;
            long left = host.connections();
            log.info("handover: {} connection(s) moved to pid {}; {} stay here and drain", moved, pid, left);
            host.releaseListeners();
            host.handedOver(moved, left);
            Channel listening = server;
            server = null;
            if (listening != null) {
                // Before Done: the successor listens at this path next, and closing a Unix server channel
                // removes its file (here, on its loop, at once), which must not remove the successor's.
                listening.close();
            }
            control.writeAndFlush(new Message.Done(moved, left));
            tellRequester(true, "pid " + pid + " took over: " + moved + " connection(s) moved, " + left
                    + " draining in pid " + ProcessHandle.current().pid());
            Thread drain = new Thread(host::drainAndExit, "fourtuple-drain");
            drain.start();
        }

        void lost(String why) {
            if (session != this) {
                return;
            }
            session = null;
            unsent.clear();
            log.error("handover: successor pid {} failed ({}); this process goes on serving", pid, why);
            onTheirWay.values().forEach(Departure::lost);
            onTheirWay.clear();
            if (paused) {
                host.resumeListeners();
            }
            control.close();
            if (sockets != null) {
                sockets.close();
            }
            tellRequester(false, "successor pid " + pid + " failed (" + why + "); pid "
                    + ProcessHandle.current().pid() + " goes on serving");
        }
    }

    @Override
    public void close() {
        executor.execute(() -> {
            Channel listening = server;
            if (listening != null) {
                listening.close();
            }
        });
        loop.shutdown(Duration.ofSeconds(1));
    }
}
