package dev.fourtuple.gateway;

import java.net.BindException;
import java.net.InetSocketAddress;

/**
 * A socket the config names could not be bound (the port is taken, the address is not this host's): the
 * gateway could not start, exit 1. The message names the key and the address.
 */
final class BindFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    BindFailedException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * "KEY: ADDRESS: cannot bind: WHY", WHY from the BindException in {@code failure}'s causes when there is
     * one (Netty wraps it), else from the deepest cause.
     */
    static BindFailedException of(String key, InetSocketAddress address, Throwable failure) {
        Throwable cause = failure;
        while (cause.getCause() != null && !(cause instanceof BindException)) {
            cause = cause.getCause();
        }
        return new BindFailedException(key + ": " + Gateway.format(address) + ": cannot bind: " + cause.getMessage(),
                failure);
    }
}
