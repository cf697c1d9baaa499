package dev.fourtuple.gateway.admission;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import dev.fourtuple.gateway.testing.RawHttp;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketException;
import java.util.regex.Pattern;

/**
 * What a client asking the echo backend for {@code GET /status/200} through the gateway got, read to the end:
 * the complete 200, or admission's 503 with Retry-After. Anything else (a cut response, a reset without a
 * complete 503, another status) fails the test that reads it.
 */
enum Outcome {
    OK, REFUSED;

    static final String REQUEST = "GET /status/200 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

    private static final Pattern FULL_200 = Pattern.compile(
            "HTTP/1\\.1 200 OK\r\n(?:[^\r\n]+\r\n)*\r\nstatus 200\n");
    private static final Pattern BODY_OF_11 = Pattern.compile("(?i)\r\ncontent-length: 11\r\n");
    private static final Pattern FULL_503 = Pattern.compile(
            "HTTP/1\\.1 503 Service Unavailable\r\n(?:[^\r\n]+\r\n)*\r\n503 Service Unavailable\n");
    private static final Pattern RETRY_AFTER = Pattern.compile("\r\nRetry-After: [1-9][0-9]*\r\n");

    /**
     * Sends the request, then reads. A refused connection may already be gone when the request is sent (the
     * refusal resets a client that has not closed a second after its 503): then what it received is what counts.
     */
    static Outcome ask(RawHttp client) throws IOException {
        try {
            client.send(REQUEST);
        } catch (SocketException e) {
            // Only a refused connection can be gone before its request; read() says whether it was one.
        }
        return read(client);
    }

    /** Reads to the end and says which of the two it was. */
    static Outcome read(RawHttp client) throws IOException {
        InputStream in = client.socket().getInputStream();
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        boolean reset = false;
        try {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                all.write(buffer, 0, n);
            }
        } catch (SocketException e) { // not a read timeout: that is an InterruptedIOException and fails the test
            reset = true;
        }
        String text = all.toString(ISO_8859_1);
        if (!reset && FULL_200.matcher(text).matches() && BODY_OF_11.matcher(text).find()) {
            return OK;
        }
        if (FULL_503.matcher(text).matches() && RETRY_AFTER.matcher(text).find()) {
            return REFUSED; // a reset after the complete 503 is the refusal's own linger ending
        }
        throw new AssertionError("neither a complete 200 nor a 503 with Retry-After" + (reset ? ", then a reset" : "")
                + ":\n" + text);
    }
}
