package dev.fourtuple.gateway.tls;

import io.netty.handler.ssl.OpenSslSessionContext;
import io.netty.handler.ssl.OpenSslSessionTicketKey;
import io.netty.handler.ssl.SslContext;
import java.security.SecureRandom;
import java.time.Duration;

/**
 * The keys that encrypt session tickets (RFC 8446 §4.6.1 NewSessionTicket, RFC 5077): made by the gateway,
 * a new one every {@code ticket-key-rotation}, the previous one still accepted, so a ticket issued just
 * before a rotation still resumes. One set per TLS listener, kept when a reload builds new contexts, so a
 * reload costs no client a full handshake. Only the OpenSSL engine takes keys from outside; the JDK's
 * makes and rotates its own.
 *
 * <p>Thread-safe: rotation runs on one loop, reloads on the reload thread.
 */
final class SessionTicketKeys {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Duration rotation;
    private volatile OpenSslSessionTicketKey current;
    private volatile OpenSslSessionTicketKey previous;
    private volatile long rotatedAtNanos;

    SessionTicketKeys(Duration rotation) {
        this.rotation = rotation;
        this.current = newKey();
        this.previous = newKey();
        this.rotatedAtNanos = System.nanoTime();
    }

    /** A new current key; the current one becomes the previous (still decrypts), the previous is dropped. */
    synchronized void rotate() {
        previous = current;
        current = newKey();
        rotatedAtNanos = System.nanoTime();
    }

    /** Rotates when the last rotation is {@link #rotation} ago or more; true when it did. */
    synchronized boolean rotateIfDue(long nowNanos) {
        if (nowNanos - rotatedAtNanos < rotation.toNanos()) {
            return false;
        }
        rotate();
        return true;
    }

    /** Gives the keys to a context; the first encrypts new tickets, both decrypt. Not the JDK engine's. */
    synchronized void applyTo(SslContext context) {
        if (context.sessionContext() instanceof OpenSslSessionContext openssl) {
            openssl.setTicketKeys(current, previous);
        }
    }

    private static OpenSslSessionTicketKey newKey() {
        byte[] name = new byte[OpenSslSessionTicketKey.NAME_SIZE];
        byte[] hmac = new byte[OpenSslSessionTicketKey.HMAC_KEY_SIZE];
        byte[] aes = new byte[OpenSslSessionTicketKey.AES_KEY_SIZE];
        RANDOM.nextBytes(name);
        RANDOM.nextBytes(hmac);
        RANDOM.nextBytes(aes);
        return new OpenSslSessionTicketKey(name, hmac, aes);
    }
}
