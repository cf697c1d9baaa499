package dev.fourtuple.gateway.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.unix.Errors;
import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class PortExhaustionTest {
    private static final int EADDRINUSE = 98;
    private static final int EADDRNOTAVAIL = 99;
    private static final int ECONNREFUSED = 111;
    private static final int ETIMEDOUT = 110;

    @BeforeAll
    static void loadNativeLibrary() {
        // Errors' messages come from strerror(3) through JNI.
        Epoll.ensureAvailability();
    }

    @Test
    void connectExceptionSayingCannotAssignRequestedAddress() {
        // What epoll's connect throws for EADDRNOTAVAIL: a plain ConnectException.
        assertThat(PortExhaustion.isCause(new ConnectException(
                "connect(..) failed with error(-99): Cannot assign requested address"))).isTrue();
    }

    @Test
    void nativeIoExceptionWithEaddrnotavail() {
        Errors.NativeIoException failure = new Errors.NativeIoException("connect", -EADDRNOTAVAIL);

        assertThat(failure.expectedErr()).isEqualTo(-99);
        assertThat(PortExhaustion.isCause(failure)).isTrue();
    }

    @Test
    void nativeIoExceptionWithEaddrinuse() {
        // Recognised by its errno alone: "Address already in use" in a message counts only on a BindException.
        assertThat(PortExhaustion.isCause(new Errors.NativeIoException("bind", -EADDRINUSE))).isTrue();
    }

    @Test
    void bindExceptionAddressAlreadyInUse() {
        // NIO's bind(port 0) when the source IP has no port left.
        assertThat(PortExhaustion.isCause(new BindException("Address already in use"))).isTrue();
    }

    @Test
    void nestedAsACause() {
        Throwable wrapped = new CompletionException(new IOException("upstream connect",
                new Errors.NativeIoException("connect", -EADDRNOTAVAIL)));

        assertThat(PortExhaustion.isCause(wrapped)).isTrue();
        assertThat(PortExhaustion.isCause(new IOException("outer", new ConnectException(
                "connect(..) failed with error(-99): Cannot assign requested address")))).isTrue();
    }

    @Test
    void connectionRefusedIsNot() {
        assertThat(PortExhaustion.isCause(new ConnectException(
                "connect(..) failed with error(-111): Connection refused"))).isFalse();
        assertThat(PortExhaustion.isCause(new Errors.NativeIoException("connect", -ECONNREFUSED))).isFalse();
    }

    @Test
    void timeoutIsNot() {
        assertThat(PortExhaustion.isCause(new ConnectTimeoutException("connection timed out after 5000 ms: "
                + "/127.0.0.1:9001"))).isFalse();
        assertThat(PortExhaustion.isCause(new SocketTimeoutException("Connect timed out"))).isFalse();
        assertThat(PortExhaustion.isCause(new Errors.NativeIoException("connect", -ETIMEDOUT))).isFalse();
    }

    @Test
    void addressAlreadyInUseOnlyCountsFromBind() {
        // "Address already in use" from anything but bind (or errno 98) is not about ephemeral ports.
        assertThat(PortExhaustion.isCause(new IOException("Address already in use"))).isFalse();
    }

    @Test
    void nullAndMessagelessFailuresAreNot() {
        assertThat(PortExhaustion.isCause(null)).isFalse();
        assertThat(PortExhaustion.isCause(new IOException())).isFalse();
        assertThat(PortExhaustion.isCause(new BindException())).isFalse();
    }

    @Test
    void selfCausedExceptionEnds() {
        Throwable selfCaused = new IOException("odd") {
            @Override
            public synchronized Throwable getCause() {
                return this;
            }
        };

        assertThat(PortExhaustion.isCause(selfCaused)).isFalse();
    }
}
