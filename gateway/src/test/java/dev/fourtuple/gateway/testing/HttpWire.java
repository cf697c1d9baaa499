package dev.fourtuple.gateway.testing;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * A strict HTTP/1.1 message reader written apart from Netty's, so that tests compare two parsers: what the
 * gateway decoded and re-encoded must parse here to the same messages, with no byte left over. Reads request
 * and response heads (RFC 9112 §2-§5) and bodies framed by Content-Length or chunked (§6-§7); a response
 * body without either runs to the end of the stream (§6.3 rule 8). Anything else is an {@link IOException}.
 */
public final class HttpWire {
    private static final int MAX_LINE = 64 * 1024;

    private HttpWire() {
    }

    /** One header field line, name as sent. */
    public record Field(String name, String value) {
    }

    /** A parsed message: the start line's three parts, the header fields in order, the body. */
    public record Message(String first, String second, String third, List<Field> fields, byte[] body,
            List<Field> trailers) {
        /** The only value of a header, null when absent; a test failure when there are several. */
        public @Nullable String header(String name) {
            List<String> all = headers(name);
            if (all.size() > 1) {
                throw new AssertionError("more than one " + name + ": " + all);
            }
            return all.isEmpty() ? null : all.get(0);
        }

        public List<String> headers(String name) {
            List<String> all = new ArrayList<>();
            for (Field field : fields) {
                if (field.name().equalsIgnoreCase(name)) {
                    all.add(field.value());
                }
            }
            return all;
        }

        /** For a response: its status code. */
        public int status() {
            return Integer.parseInt(second);
        }

        public String bodyText() {
            return new String(body, StandardCharsets.ISO_8859_1);
        }
    }

    /**
     * Reads the next request, or returns null at a clean end of stream before its first byte.
     *
     * @throws IOException when the bytes are not a well-formed request
     */
    public static @Nullable Message readRequest(InputStream in) throws IOException {
        String line = readLine(in, true);
        if (line == null) {
            return null;
        }
        String[] parts = line.split(" ", -1);
        if (parts.length != 3 || !parts[2].equals("HTTP/1.1") && !parts[2].equals("HTTP/1.0")) {
            throw new IOException("bad request line: " + printable(line));
        }
        List<Field> fields = readFields(in);
        Message head = new Message(parts[0], parts[1], parts[2], fields, new byte[0], List.of());
        return withBody(in, head, true, false);
    }

    /**
     * Reads the next response, or returns null at a clean end of stream before its first byte.
     *
     * @param toHead whether the request it answers was a HEAD (no body, whatever the head says)
     */
    public static @Nullable Message readResponse(InputStream in, boolean toHead) throws IOException {
        String line = readLine(in, true);
        if (line == null) {
            return null;
        }
        String[] parts = line.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.") || !parts[1].matches("[1-5][0-9][0-9]")) {
            throw new IOException("bad status line: " + printable(line));
        }
        List<Field> fields = readFields(in);
        Message head = new Message(parts[0], parts[1], parts.length > 2 ? parts[2] : "", fields, new byte[0],
                List.of());
        int status = head.status();
        boolean bodyless = toHead || status < 200 || status == 204 || status == 304;
        return withBody(in, head, false, bodyless);
    }

    /** Every response on a stream to its end; {@code heads[i]} says whether request i was a HEAD. */
    public static List<Message> readResponses(InputStream in, boolean... heads) throws IOException {
        List<Message> responses = new ArrayList<>();
        int finals = 0;
        Message next;
        while ((next = readResponse(in, finals < heads.length && heads[finals])) != null) {
            responses.add(next);
            if (next.status() >= 200) {
                finals++;
            }
        }
        return responses;
    }

    private static Message withBody(InputStream in, Message head, boolean request, boolean bodyless)
            throws IOException {
        if (bodyless) {
            return head;
        }
        List<String> encodings = head.headers("Transfer-Encoding");
        List<String> lengths = head.headers("Content-Length");
        if (!encodings.isEmpty()) {
            if (!lengths.isEmpty()) {
                throw new IOException("both Transfer-Encoding and Content-Length");
            }
            if (encodings.size() != 1 || !encodings.get(0).trim().equalsIgnoreCase("chunked")) {
                throw new IOException("transfer coding other than chunked: " + encodings);
            }
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            List<Field> trailers = readChunks(in, body);
            return new Message(head.first(), head.second(), head.third(), head.fields(), body.toByteArray(),
                    trailers);
        }
        if (!lengths.isEmpty()) {
            if (lengths.size() != 1 || !lengths.get(0).matches("[0-9]{1,18}")) {
                throw new IOException("bad Content-Length: " + lengths);
            }
            byte[] body = in.readNBytes(Integer.parseInt(lengths.get(0)));
            if (body.length != Integer.parseInt(lengths.get(0))) {
                throw new EOFException("body cut at " + body.length + " of " + lengths.get(0));
            }
            return new Message(head.first(), head.second(), head.third(), head.fields(), body, List.of());
        }
        if (request) {
            return head; // RFC 9112 §6.3 rule 7: no framing header, no body
        }
        return new Message(head.first(), head.second(), head.third(), head.fields(), in.readAllBytes(), List.of());
    }

    private static List<Field> readChunks(InputStream in, ByteArrayOutputStream body) throws IOException {
        while (true) {
            String line = readLine(in, false);
            String size = line.contains(";") ? line.substring(0, line.indexOf(';')) : line;
            if (!size.matches("[0-9a-fA-F]{1,7}")) {
                throw new IOException("bad chunk size: " + printable(line));
            }
            int n = Integer.parseInt(size, 16);
            if (n == 0) {
                return readFields(in);
            }
            byte[] chunk = in.readNBytes(n);
            if (chunk.length != n) {
                throw new EOFException("chunk cut");
            }
            body.write(chunk);
            if (!readLine(in, false).isEmpty()) {
                throw new IOException("chunk not followed by CRLF");
            }
        }
    }

    private static List<Field> readFields(InputStream in) throws IOException {
        List<Field> fields = new ArrayList<>();
        String line;
        while (!(line = readLine(in, false)).isEmpty()) {
            int colon = line.indexOf(':');
            if (colon <= 0 || !line.substring(0, colon).matches("[!#$%&'*+.^_`|~0-9A-Za-z-]+")) {
                throw new IOException("bad field line: " + printable(line));
            }
            String value = line.substring(colon + 1).strip();
            if (!value.chars().allMatch(c -> c == '\t' || c >= 0x20 && c != 0x7f)) {
                throw new IOException("control character in field value: " + printable(line));
            }
            fields.add(new Field(line.substring(0, colon), value));
        }
        return fields;
    }

    /** A CRLF-terminated line; a bare CR or LF is an error. Null only at EOF before the first byte when allowed. */
    private static @Nullable String readLine(InputStream in, boolean eofAllowed) throws IOException {
        StringBuilder line = new StringBuilder();
        while (true) {
            int b = in.read();
            if (b < 0) {
                if (eofAllowed && line.length() == 0) {
                    return null;
                }
                throw new EOFException("stream ended inside a line: " + printable(line.toString()));
            }
            if (b == '\r') {
                if (in.read() != '\n') {
                    throw new IOException("CR not followed by LF");
                }
                return line.toString();
            }
            if (b == '\n') {
                throw new IOException("bare LF");
            }
            if (line.length() >= MAX_LINE) {
                throw new IOException("line too long");
            }
            line.append((char) b);
        }
    }

    /** Control characters shown as \xNN, for messages. */
    public static String printable(String text) {
        StringBuilder out = new StringBuilder();
        for (char c : text.toCharArray()) {
            if (c < 0x20 || c >= 0x7f) {
                out.append(String.format(Locale.ROOT, "\\x%02x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
