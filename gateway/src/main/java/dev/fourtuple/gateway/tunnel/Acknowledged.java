package dev.fourtuple.gateway.tunnel;

import io.netty.channel.Channel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;

/** Whether everything written on a socket has been acknowledged by the peer (TCP_INFO tcpi_unacked == 0). */
final class Acknowledged {
    private Acknowledged() {
    }

    /** True when the kernel says nothing sent is unacknowledged; false when it does not know (NIO). */
    static boolean all(Channel channel) {
        if (channel instanceof EpollSocketChannel epoll) {
            return epoll.tcpInfo().unacked() == 0;
        }
        if (channel instanceof IoUringSocketChannel uring) {
            return uring.tcpInfo().unacked() == 0;
        }
        return false;
    }
}
