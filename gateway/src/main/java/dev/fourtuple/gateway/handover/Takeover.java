package dev.fourtuple.gateway.handover;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fourtuple.gateway.transport.EventLoops;
import dev.fourtuple.gateway.transport.TransportKind;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.DomainSocketReadMode;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.UnixChannelOption;
import java.io.IOException;
import java.net.ConnectException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The new process's side of a handover: says hello to the process serving on the handover socket, receives
 * its listening sockets, and once serving on them, every connection it passes on, each resumed by a
 * {@link Resumer} and acknowledged, until {@code Done}. Runs on its own one-thread loop.
 */
public final class Takeover implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Takeover.class);

    /** Resumes one connection from its sockets and state; tells {@code done} whether it runs here now. */
    public interface Resumer {
        void resume(String kind, List<Integer> fds, JsonNode state, Consumer<Boolean> done);
    }

    /** The running process would not hand over (e.g. other listeners): the successor must not start. */
    public static final class RefusedException extends Exception {
        RefusedException(String message) {
            super(message);
        }
    }

    private final EventLoops loop;
    private final EventLoop executor;
    private final Channel control;
    private final long predecessorPid;
    private final int listenerCount;
    private @Nullable Channel sockets;
    private final ArrayDeque<Integer> fds = new ArrayDeque<>();
    private final ArrayDeque<Message> waiting = new ArrayDeque<>();
    private final Map<String, List<Integer>> listenerSockets = new LinkedHashMap<>();
    private final CompletableFuture<Map<String, List<Integer>>> listenersIn = new CompletableFuture<>();
    private final CompletableFuture<Message.Done> done = new CompletableFuture<>();
    private @Nullable Resumer resumer;
    private final AtomicLong resumed = new AtomicLong(); // counted on the gateway's loops, read by the caller
    private final AtomicLong failed = new AtomicLong();
    /** When the predecessor last passed something (a message or a socket): awaitDone waits while it does. */
    private volatile long lastHeard = System.nanoTime();

    private Takeover(EventLoops loop, Channel control, long predecessorPid, int listenerCount) {
        this.loop = loop;
        this.executor = loop.loops().get(0);
        this.control = control;
        this.predecessorPid = predecessorPid;
        this.listenerCount = listenerCount;
    }

    /**
     * Says hello to the process on {@code path} and receives its listening sockets.
     *
     * @return null when no process answers there (none runs: this one starts afresh)
     * @throws RefusedException when the running process refuses (its message says why)
     * @throws IOException      when the handover breaks off or times out after it began
     */
    public static @Nullable Takeover connect(Path path, List<String> listeners, Duration timeout)
            throws RefusedException, IOException, InterruptedException {
        if (!Files.exists(path)) {
            return null;
        }
        EventLoops loop = EventLoops.start(TransportKind.EPOLL, 1, "fourtuple-handover");
        CompletableFuture<Message> reply = new CompletableFuture<>();
        Channel control;
        try {
            control = connect(loop, path, false, new Replies(reply));
        } catch (IOException e) {
            loop.shutdown(Duration.ofSeconds(1));
            log.info("handover socket {}: no process answers ({}); starting afresh", path, e.getMessage());
            return null;
        }
        try {
            control.writeAndFlush(new Message.Hello(ProcessHandle.current().pid(), listeners));
            Message first = await(reply, timeout, "the running process's answer");
            if (first instanceof Message.Refused refused) {
                throw new RefusedException("the process serving on handover socket " + path + " refused the "
                        + "handover: " + refused.reason());
            }
            if (!(first instanceof Message.Welcome welcome)) {
                throw new IOException("handover: expected welcome, got " + first);
            }
            Takeover takeover = new Takeover(loop, control, welcome.pid(), listeners.size());
            control.pipeline().replace(Replies.class, "takeover", takeover.new ControlHandler());
            takeover.sockets = connect(loop, path, true, takeover.new SocketsHandler());
            takeover.sockets.writeAndFlush(new Message.Sockets());
            log.info("handover: taking over from pid {}", welcome.pid());
            await(takeover.listenersIn, timeout, "the listening sockets");
            return takeover;
        } catch (RefusedException | IOException | RuntimeException e) {
            control.close();
            loop.shutdown(Duration.ofSeconds(1));
            throw e;
        }
    }

    private static Channel connect(EventLoops loop, Path path, boolean forSockets,
            io.netty.channel.ChannelHandler handler) throws IOException, InterruptedException {
        Bootstrap bootstrap = new Bootstrap()
                .group(loop.group())
                .channel(EpollDomainSocketChannel.class)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        MessageCodec.addTo(ch.pipeline()); // the sockets connection only writes its one message
                        ch.pipeline().addLast(handler);
                    }
                });
        if (forSockets) {
            bootstrap.option(UnixChannelOption.DOMAIN_SOCKET_READ_MODE, DomainSocketReadMode.FILE_DESCRIPTORS);
        }
        var future = bootstrap.connect(new DomainSocketAddress(path.toString())).await();
        if (!future.isSuccess()) {
            Throwable cause = future.cause();
            throw cause instanceof IOException io ? io : new ConnectException(String.valueOf(cause));
        }
        return future.channel();
    }

    private static <T> T await(CompletableFuture<T> future, Duration timeout, String what)
            throws IOException, InterruptedException {
        try {
            return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new IOException("handover: " + what + " did not come within " + timeout);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            throw cause instanceof IOException io ? io : new IOException("handover: " + cause, cause);
        }
    }

    /**
     * A connection's state as its record.
     *
     * @throws IllegalArgumentException when it is not one
     */
    public static <T> T read(JsonNode state, Class<T> type) {
        try {
            return MessageCodec.JSON.treeToValue(state, type);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("not a " + type.getSimpleName() + ": " + e.getOriginalMessage(), e);
        }
    }

    /** The predecessor's listening sockets (fds), by listener name. */
    public Map<String, List<Integer>> listenerSockets() {
        return listenerSockets;
    }

    public long predecessorPid() {
        return predecessorPid;
    }

    /** This process serves on the sockets now: the predecessor stops accepting and passes its connections. */
    public void accepting(Resumer resumer) {
        executor.execute(() -> {
            this.resumer = resumer;
            lastHeard = System.nanoTime(); // the predecessor starts passing connections now
            control.writeAndFlush(new Message.Accepting());
            dispatch();
        });
    }

    /**
     * Waits until the predecessor has passed on all it could, for as long as it keeps passing connections: how
     * long moving them all takes grows with their number and the machine's load (benchmarks/handover.sh: 8,000
     * tunnels took tens of seconds on a busy 2-core machine), so only a predecessor that went quiet for
     * {@code stall} is given up.
     *
     * @throws IOException when it breaks off, or passes nothing for {@code stall}
     */
    public Message.Done awaitDone(Duration stall) throws IOException, InterruptedException {
        while (true) {
            long left = stall.toNanos() - (System.nanoTime() - lastHeard);
            if (left <= 0) {
                throw new IOException("handover: the predecessor passed nothing for " + stall);
            }
            try {
                return done.get(left, TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                // it may have passed more meanwhile: look again
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                throw cause instanceof IOException io ? io : new IOException("handover: " + cause, cause);
            }
        }
    }

    /** Connections resumed here, and ones that could not be. */
    public long resumed() {
        return resumed.get();
    }

    public long failed() {
        return failed.get();
    }

    /** Pairs each message with the sockets it announces (they come on the other connection, in order). */
    private void dispatch() {
        while (!waiting.isEmpty() && waiting.peek().sockets() <= fds.size()) {
            Message msg = waiting.peek();
            if (msg instanceof Message.Connection && resumer == null) {
                return; // not serving yet: cannot happen (P sends connections after Accepting), but never lose one
            }
            waiting.poll();
            List<Integer> mine = new ArrayList<>(msg.sockets());
            for (int i = 0; i < msg.sockets(); i++) {
                mine.add(fds.poll());
            }
            handle(msg, mine);
        }
    }

    private void handle(Message msg, List<Integer> mine) {
        if (msg instanceof Message.Listener listener) {
            listenerSockets.put(listener.name(), mine);
            if (listenerSockets.size() == listenerCount) {
                listenersIn.complete(listenerSockets);
            }
        } else if (msg instanceof Message.Connection connection) {
            Resumer target = resumer;
            try {
                target.resume(connection.kind(), mine, connection.state(), ok -> {
                    if (ok) {
                        resumed.incrementAndGet();
                    } else {
                        failed.incrementAndGet(); // the resumer closed what it made of the sockets
                    }
                    control.writeAndFlush(new Message.Taken(connection.id(), ok));
                });
            } catch (RuntimeException e) {
                log.warn("handover: cannot resume {} {}: {}", connection.kind(), connection.id(), e.toString());
                closeQuietly(mine);
                failed.incrementAndGet();
                control.writeAndFlush(new Message.Taken(connection.id(), false));
            }
        } else if (msg instanceof Message.Done finished) {
            done.complete(finished);
        }
    }

    /** Closes sockets the resumer refused before it made channels of them (an unknown kind, a bad state). */
    private static void closeQuietly(List<Integer> fds) {
        for (int fd : fds) {
            try {
                new FileDescriptor(fd).close();
            } catch (IOException e) {
                log.debug("handover: closing fd {}: {}", fd, e.toString());
            }
        }
    }

    /** Until Welcome: the first reply. */
    private static final class Replies extends SimpleChannelInboundHandler<Message> {
        private final CompletableFuture<Message> reply;

        Replies(CompletableFuture<Message> reply) {
            this.reply = reply;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Message msg) {
            reply.complete(msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            reply.completeExceptionally(new IOException("the running process closed the handover connection"));
        }
    }

    private final class ControlHandler extends SimpleChannelInboundHandler<Message> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Message msg) {
            lastHeard = System.nanoTime();
            waiting.add(msg);
            dispatch();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            IOException gone = new IOException("the predecessor closed the handover connection");
            listenersIn.completeExceptionally(gone);
            done.completeExceptionally(gone);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.warn("handover: control connection failed: {}", cause.toString());
            ctx.close();
        }
    }

    private final class SocketsHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof FileDescriptor fd) {
                lastHeard = System.nanoTime();
                fds.add(fd.intValue());
                dispatch();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.warn("handover: sockets connection failed: {}", cause.toString());
            ctx.close();
        }
    }

    @Override
    public void close() {
        control.close();
        Channel s = sockets;
        if (s != null) {
            s.close();
        }
        loop.shutdown(Duration.ofSeconds(1));
    }
}
