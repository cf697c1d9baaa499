package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.PortRange;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.unix.IntegerUnixChannelOption;
import org.jspecify.annotations.Nullable;

/**
 * The Linux socket options that decide how upstream sockets take their source port, set through Netty's
 * generic {@link IntegerUnixChannelOption} so that epoll and io_uring (which has no named option for
 * either) take the same path. NIO can set neither.
 */
final class UpstreamSocketOptions {
    /** {@code setsockopt(IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT)}: ip(7), linux/in.h value 24. */
    static final IntegerUnixChannelOption IP_BIND_ADDRESS_NO_PORT =
            new IntegerUnixChannelOption("FOURTUPLE_IP_BIND_ADDRESS_NO_PORT", 0, 24);
    /** {@code setsockopt(IPPROTO_IP, IP_LOCAL_PORT_RANGE)}: Linux 6.3+, linux/in.h value 51, hi << 16 | lo. */
    static final IntegerUnixChannelOption IP_LOCAL_PORT_RANGE =
            new IntegerUnixChannelOption("FOURTUPLE_IP_LOCAL_PORT_RANGE", 0, 51);

    private UpstreamSocketOptions() {
    }

    /** Sets the options on a bootstrap whose transport is native. */
    static void apply(Bootstrap bootstrap, boolean bindAddressNoPort, @Nullable PortRange localPortRange) {
        if (bindAddressNoPort) {
            bootstrap.option(IP_BIND_ADDRESS_NO_PORT, 1);
        }
        if (localPortRange != null) {
            bootstrap.option(IP_LOCAL_PORT_RANGE, localPortRange.high() << 16 | localPortRange.low());
        }
    }
}
