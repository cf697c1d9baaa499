package dev.fourtuple.gateway.host;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads {@code /proc} files. Not with {@link Files#readString}: proc files report size 0, so it reads one byte
 * first, and sysctl files answer nothing to a read at a non-zero offset; "32768\t60999" comes back as "3".
 * One large read takes the whole file.
 */
public final class ProcFiles {
    private ProcFiles() {
    }

    /** The whole file as text. */
    public static String read(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }
}
