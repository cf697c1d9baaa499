package dev.fourtuple.gateway.upstream;

import java.io.IOException;

/**
 * A TLS handshake with a backend failed (its certificate did not verify, no common protocol, a reset mid-way):
 * a failed connect, reported with the engine's reasons from outermost to innermost.
 */
public final class BackendHandshakeException extends IOException {
    BackendHandshakeException(String serverName, Throwable cause) {
        super("TLS handshake (server name " + serverName + ") failed: " + reasons(cause), cause);
    }

    /** Each distinct message in the cause chain, joined: the engine's alert and what the trust manager said. */
    private static String reasons(Throwable cause) {
        StringBuilder text = new StringBuilder();
        int depth = 0;
        for (Throwable t = cause; t != null && depth < 8; t = t.getCause(), depth++) {
            String message = t.getMessage();
            if (message == null || message.isBlank() || text.indexOf(message) >= 0) {
                continue;
            }
            if (text.length() > 0) {
                text.append(": ");
            }
            text.append(message);
        }
        return text.length() == 0 ? cause.getClass().getSimpleName() : text.toString();
    }
}
