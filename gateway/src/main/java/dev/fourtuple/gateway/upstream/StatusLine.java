package dev.fourtuple.gateway.upstream;

import io.netty.buffer.ByteBuf;

/**
 * Reads the status line of a health check's response, and nothing else: RFC 9112 §4,
 * {@code status-line = HTTP-version SP status-code SP [ reason-phrase ]}, with HTTP-version {@code HTTP/1.1}
 * or {@code HTTP/1.0} (a 1.0 server answers a 1.1 request in 1.0, RFC 9112 §2.5). The line ends at CRLF (or a
 * bare LF, RFC 9112 §2.2). Every byte is the backend's and untrusted: at most {@link #MAX_LINE} bytes are
 * looked at, and anything that is not such a line (a control character in the reason phrase, a missing SP, a
 * two-digit code, no line end within the cap) is a failed check, never an exception.
 *
 * <p>One per check connection, on its loop.
 */
final class StatusLine {
    /** The longest status line accepted; a reason phrase longer than this is not worth reading. */
    static final int MAX_LINE = 512;
    /** {@link #feed} has not seen a whole line yet. */
    static final int MORE = -1;
    /** {@link #feed} saw something that is not a status line. */
    static final int INVALID = -2;

    private final byte[] line = new byte[MAX_LINE];
    private int length;
    private boolean done;

    /**
     * Takes the next bytes of the response (not released: the caller owns {@code bytes}); returns the status
     * code (100..999) once the line is complete and valid, {@link #INVALID} if it is not one, or {@link #MORE}.
     * After a code or INVALID it keeps returning INVALID: one verdict per response.
     */
    int feed(ByteBuf bytes) {
        if (done) {
            return INVALID;
        }
        while (bytes.isReadable()) {
            byte b = bytes.readByte();
            if (b == '\n') {
                done = true;
                int end = length > 0 && line[length - 1] == '\r' ? length - 1 : length;
                return parse(end);
            }
            if (length == MAX_LINE) {
                done = true;
                return INVALID;
            }
            line[length++] = b;
        }
        return MORE;
    }

    /** The line's bytes [0, end) without its line end. */
    private int parse(int end) {
        // "HTTP/1.x" SP 3DIGIT SP: 13 bytes at least
        if (end < 13 || !startsWith("HTTP/1.") || (line[7] != '1' && line[7] != '0') || line[8] != ' '
                || line[12] != ' ') {
            return INVALID;
        }
        int code = 0;
        for (int i = 9; i < 12; i++) {
            byte d = line[i];
            if (d < '0' || d > '9') {
                return INVALID;
            }
            code = code * 10 + (d - '0');
        }
        if (code < 100) {
            return INVALID;
        }
        // reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ): no other control character, no lone CR
        for (int i = 13; i < end; i++) {
            int c = line[i] & 0xff;
            if (c != '\t' && (c < 0x20 || c == 0x7f)) {
                return INVALID;
            }
        }
        return code;
    }

    private boolean startsWith(String prefix) {
        for (int i = 0; i < prefix.length(); i++) {
            if (line[i] != prefix.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
