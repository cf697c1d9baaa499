package dev.fourtuple.gateway.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The health check's status-line parser: RFC 9112 §4 lines only, bounded, whatever the backend sends. */
class StatusLineTest {
    private static int parse(String... pieces) {
        StatusLine line = new StatusLine();
        int result = StatusLine.MORE;
        for (String piece : pieces) {
            ByteBuf bytes = Unpooled.copiedBuffer(piece, StandardCharsets.ISO_8859_1);
            try {
                result = line.feed(bytes);
            } finally {
                bytes.release();
            }
            if (result != StatusLine.MORE) {
                return result;
            }
        }
        return result;
    }

    @Test
    void readsTheCodeOfAValidLine() {
        assertThat(parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")).isEqualTo(200);
        assertThat(parse("HTTP/1.1 503 Service Unavailable\r\n")).isEqualTo(503);
        assertThat(parse("HTTP/1.0 302 \r\n")).isEqualTo(302); // empty reason phrase, SP still there
        assertThat(parse("HTTP/1.1 204 No\tContent\n")).isEqualTo(204); // bare LF, HTAB in the reason
    }

    @Test
    void aLineSplitAcrossReadsIsReadWhole() {
        assertThat(parse("HT", "TP/1.1 2", "00 O", "K\r", "\n")).isEqualTo(200);
        assertThat(parse("HTTP/1.1 200 OK")).isEqualTo(StatusLine.MORE);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "HTTP/1.1 200\r\n",            // no SP after the code
            "HTTP/2 200 OK\r\n",
            "HTTP/1.2 200 OK\r\n",
            "http/1.1 200 OK\r\n",
            "HTTP/1.1 20 OK\r\n",
            "HTTP/1.1 2000 OK\r\n",
            "HTTP/1.1 0200 OK\r\n",
            "HTTP/1.1 099 OK\r\n",
            "HTTP/1.1 2x0 OK\r\n",
            "HTTP/1.1  200 OK\r\n",
            "HTTP/1.1 200 O\u0000K\r\n",
            "HTTP/1.1 200 O\rK\r\n",
            "SSH-2.0-OpenSSH_9.6\r\n",
            "\r\n"})
    void anythingElseIsInvalid(String line) {
        assertThat(parse(line)).isEqualTo(StatusLine.INVALID);
    }

    @Test
    void aLineLongerThanTheCapIsInvalidWithoutReadingOn() {
        String endless = "HTTP/1.1 200 " + "x".repeat(StatusLine.MAX_LINE);
        ByteBuf bytes = Unpooled.copiedBuffer(endless + "\r\n", StandardCharsets.ISO_8859_1);
        try {
            assertThat(new StatusLine().feed(bytes)).isEqualTo(StatusLine.INVALID);
            assertThat(bytes.readerIndex()).isLessThanOrEqualTo(StatusLine.MAX_LINE + 1);
        } finally {
            bytes.release();
        }
    }

    @Test
    void oneVerdictPerResponse() {
        StatusLine line = new StatusLine();
        ByteBuf bytes = Unpooled.copiedBuffer("HTTP/1.1 200 OK\r\nHTTP/1.1 200 OK\r\n", StandardCharsets.ISO_8859_1);
        try {
            assertThat(line.feed(bytes)).isEqualTo(200);
            assertThat(line.feed(bytes)).isEqualTo(StatusLine.INVALID);
        } finally {
            bytes.release();
        }
    }
}
