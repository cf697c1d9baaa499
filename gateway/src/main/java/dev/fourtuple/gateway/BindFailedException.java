package dev.fourtuple.gateway;

/**
 * A socket the config names could not be bound (the port is taken, the address is not this host's): the
 * gateway could not start, exit 1. The message names the key and the address.
 */
final class BindFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    BindFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
