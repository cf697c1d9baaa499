package dev.fourtuple.gateway.inbound;

/**
 * What a request needs to know of the listener it came in on.
 *
 * @param name how routes name the listener ({@code routes[].listeners})
 * @param tls  whether its clients speak TLS: {@code X-Forwarded-Proto: https}
 */
public record ListenerIdentity(String name, boolean tls) {
}
