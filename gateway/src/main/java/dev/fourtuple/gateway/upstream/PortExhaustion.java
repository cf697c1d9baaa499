package dev.fourtuple.gateway.upstream;

import io.netty.channel.unix.Errors;
import java.net.BindException;
import org.jspecify.annotations.Nullable;

/** Recognises "no ephemeral port left" among connect failures, on every transport. */
final class PortExhaustion {
    /** errno values on Linux (asm-generic/errno.h). */
    private static final int EADDRINUSE = 98;
    private static final int EADDRNOTAVAIL = 99;
    private static final String NOT_AVAILABLE = "Cannot assign requested address";
    /** Enough for any real chain, and a stop for a chain that loops back on itself. */
    private static final int MAX_CAUSES = 16;

    private PortExhaustion() {
    }

    /**
     * True for EADDRNOTAVAIL (connect with IP_BIND_ADDRESS_NO_PORT, or without bind, found no free port) and
     * for EADDRINUSE from binding port 0 (bind without IP_BIND_ADDRESS_NO_PORT found none).
     */
    static boolean isCause(@Nullable Throwable failure) {
        int depth = 0;
        for (Throwable t = failure; t != null && depth++ < MAX_CAUSES; t = t.getCause()) {
            if (t instanceof Errors.NativeIoException nativeIo) {
                int errno = -nativeIo.expectedErr();
                if (errno == EADDRNOTAVAIL || errno == EADDRINUSE) {
                    return true;
                }
            }
            String message = t.getMessage();
            if (message != null && message.contains(NOT_AVAILABLE)) {
                return true;
            }
            if (t instanceof BindException && message != null && message.contains("Address already in use")) {
                return true;
            }
        }
        return false;
    }
}
