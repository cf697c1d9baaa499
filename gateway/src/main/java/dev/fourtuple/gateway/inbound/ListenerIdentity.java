package dev.fourtuple.gateway.inbound;

/**
 * What a request needs to know of the listener it came in on.
 *
 * @param name how routes name the listener ({@code routes[].listeners})
 * @param tls  whether its clients speak TLS: {@code X-Forwarded-Proto: https}
 * @param proxyProtocol whether its connections start with a PROXY protocol header (then an idle one is not
 *                      handed to a successor: its client address would not go with it)
 */
public record ListenerIdentity(String name, boolean tls, boolean proxyProtocol) {
    /** A listener without the PROXY protocol. */
    public ListenerIdentity(String name, boolean tls) {
        this(name, tls, false);
    }
}
