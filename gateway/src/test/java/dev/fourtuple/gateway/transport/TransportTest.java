package dev.fourtuple.gateway.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.fourtuple.gateway.config.TransportChoice;
import dev.fourtuple.gateway.inbound.Listener;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class TransportTest {

    @Test
    void nativeTransportsLoadOnLinuxX8664() {
        assumeThat(System.getProperty("os.name").toLowerCase(Locale.ROOT)).isEqualTo("linux");
        assumeThat(System.getProperty("os.arch")).isIn("amd64", "x86_64");
        // A build that silently fell back to NIO would lose SO_REUSEPORT and the Linux socket options.
        assertThat(TransportKind.EPOLL.unavailabilityCause()).isNull();
        assertThat(TransportKind.IO_URING.unavailabilityCause()).isNull();
    }

    @Test
    void autoTakesTheFirstAvailableInItsOrderAndSaysWhy() {
        TransportSelector.Selection selection = TransportSelector.select(TransportChoice.AUTO);
        TransportKind expected = TransportSelector.AUTO_ORDER.stream()
                .filter(TransportKind::isAvailable).findFirst().orElseThrow();
        assertThat(selection.kind()).isEqualTo(expected);
        assertThat(selection.reason()).startsWith(expected.configName()).contains("auto");
    }

    @ParameterizedTest
    @EnumSource(TransportKind.class)
    void explicitChoiceIsHonoured(TransportKind kind) {
        assertThat(TransportSelector.select(TransportChoice.valueOf(kind.name())).kind()).isEqualTo(kind);
    }

    @ParameterizedTest
    @EnumSource(TransportKind.class)
    void nativeTransportsBindOneReusePortSocketPerLoop(TransportKind kind) throws Exception {
        EventLoops loops = EventLoops.start(kind, 3, "transport-test");
        try {
            Listener listener = Listener.bind(loops, new InetSocketAddress("127.0.0.1", 0), 128,
                    new ChannelInboundHandlerAdapter());
            try {
                assertThat(listener.address().getPort()).isPositive();
                assertThat(listener.socketCount()).isEqualTo(kind.isNative() ? 3 : 1);
            } finally {
                listener.close();
            }
        } finally {
            loops.shutdown(Duration.ofSeconds(2));
        }
    }
}
