package dev.fourtuple.gateway.testing;

import dev.fourtuple.gateway.host.ProcFiles;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.Socket;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * This process's established TCP sockets as the kernel has them, found without any help from the code that
 * opened them: {@code /proc/net/tcp} and {@code tcp6} give the ports and inode of each connection,
 * {@code /proc/self/fd} the descriptor of each inode, and getsockopt(2) on that descriptor the options. So a
 * test can read the options of the gateway's own client and backend sockets, whatever transport made them.
 *
 * <p>getsockopt goes through Netty's {@link Socket} on a borrowed descriptor (never closed here), which needs
 * Netty's native library: the epoll one is loaded for it.
 */
public final class KernelSockets {
    private static final String ESTABLISHED = "01";
    private static final int SOL_SOCKET = 1;
    private static final int SO_SNDBUF = 7;
    private static final int SO_RCVBUF = 8;
    private static final int SO_KEEPALIVE = 9;
    private static final int IPPROTO_TCP = 6;
    /** linux/tcp.h, written out here rather than taken from the code under test. */
    private static final int TCP_NODELAY = 1;
    private static final int TCP_KEEPIDLE = 4;
    private static final int TCP_KEEPINTVL = 5;
    private static final int TCP_KEEPCNT = 6;
    private static final int TCP_USER_TIMEOUT = 18;
    private static final int TCP_NOTSENT_LOWAT = 25;

    private KernelSockets() {
    }

    /**
     * One established connection of this process, by its ports; {@code ipv6}: an AF_INET6 socket (listed in
     * {@code /proc/net/tcp6}, also when it carries IPv4 as a mapped address).
     */
    public record Connection(int localPort, int remotePort, long inode, boolean ipv6) {
    }

    /** The options of one socket, as getsockopt(2) returns them (SO_RCVBUF / SO_SNDBUF doubled by Linux). */
    public record Options(int rcvbuf, int sndbuf, boolean nodelay, boolean keepalive, int keepIdle, int keepIntvl,
            int keepCnt, int userTimeoutMillis, int notsentLowat) {
    }

    /** Whether the native library getsockopt needs loads here. */
    public static boolean available() {
        return Epoll.isAvailable();
    }

    /** Every established TCP connection of this network namespace whose ports match (-1 = any port). */
    public static List<Connection> established(int localPort, int remotePort) throws IOException {
        List<Connection> found = new ArrayList<>();
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            Path path = Path.of(table);
            if (!Files.exists(path)) {
                continue;
            }
            String[] lines = ProcFiles.read(path).split("\n");
            for (int i = 1; i < lines.length; i++) { // line 0 is the header
                String[] fields = lines[i].trim().split("\\s+");
                if (fields.length < 10 || !fields[3].equals(ESTABLISHED)) {
                    continue;
                }
                int local = port(fields[1]);
                int remote = port(fields[2]);
                if ((localPort < 0 || local == localPort) && (remotePort < 0 || remote == remotePort)) {
                    found.add(new Connection(local, remote, Long.parseLong(fields[9]), table.endsWith("6")));
                }
            }
        }
        return found;
    }

    /** The options of a connection that has a descriptor in this process. */
    public static Options options(Connection connection) throws IOException {
        Epoll.ensureAvailability();
        Socket socket = new Socket(descriptor(connection.inode()));
        return new Options(
                socket.getIntOpt(SOL_SOCKET, SO_RCVBUF),
                socket.getIntOpt(SOL_SOCKET, SO_SNDBUF),
                socket.getIntOpt(IPPROTO_TCP, TCP_NODELAY) != 0,
                socket.getIntOpt(SOL_SOCKET, SO_KEEPALIVE) != 0,
                socket.getIntOpt(IPPROTO_TCP, TCP_KEEPIDLE),
                socket.getIntOpt(IPPROTO_TCP, TCP_KEEPINTVL),
                socket.getIntOpt(IPPROTO_TCP, TCP_KEEPCNT),
                socket.getIntOpt(IPPROTO_TCP, TCP_USER_TIMEOUT),
                socket.getIntOpt(IPPROTO_TCP, TCP_NOTSENT_LOWAT));
    }

    private static int descriptor(long inode) throws IOException {
        String target = "socket:[" + inode + "]";
        Map<String, Integer> seen = new HashMap<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    String link = Files.readSymbolicLink(fd).toString();
                    seen.put(link, Integer.parseInt(fd.getFileName().toString()));
                } catch (IOException | NumberFormatException e) {
                    // closed while listing, or the listing's own descriptor: not a socket we want
                }
            }
        }
        Integer fd = seen.get(target);
        if (fd == null) {
            throw new IOException("no descriptor of this process is " + target);
        }
        return fd;
    }

    /** "0100007F:1F90" (or a 32-digit IPv6 address): the port is the big-endian hex after the colon. */
    private static int port(String addressAndPort) {
        return Integer.parseInt(addressAndPort.substring(addressAndPort.indexOf(':') + 1), 16);
    }
}
