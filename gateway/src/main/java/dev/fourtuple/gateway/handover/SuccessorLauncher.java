package dev.fourtuple.gateway.handover;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Starts the successor of a binary upgrade: this process's own command line (so the jar now on disk, with the
 * same JVM options and config file), its output where this process's goes (the journal under systemd).
 */
final class SuccessorLauncher {
    private SuccessorLauncher() {
    }

    static Process launch() throws IOException {
        ProcessBuilder builder = new ProcessBuilder(commandLine()).inheritIO();
        Map<String, String> env = builder.environment();
        // sd_watchdog_enabled(3): WATCHDOG_PID names this process; without it the successor's pings count,
        // which they must once it is the main process.
        env.remove("WATCHDOG_PID");
        return builder.start();
    }

    /**
     * This process's command line, word for word, from /proc/self/cmdline (NUL-separated). Not
     * {@code ProcessHandle.Info.arguments()}: the JDK reads only the first page of it on Linux, and a class path
     * is longer than that.
     */
    private static List<String> commandLine() throws IOException {
        byte[] raw = Files.readAllBytes(Path.of("/proc/self/cmdline"));
        List<String> words = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] == 0) {
                words.add(new String(raw, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        if (words.isEmpty()) {
            throw new IOException("this process's command line is unknown (/proc/self/cmdline is empty)");
        }
        return words;
    }
}
