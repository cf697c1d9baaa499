package dev.fourtuple.gateway.handover;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Starts the successor of a binary upgrade: this process's own command line (so the jar now on disk, with the
 * same JVM options and config file), its output where this process's goes (the journal under systemd).
 */
final class SuccessorLauncher {
    private SuccessorLauncher() {
    }

    static Process launch() throws IOException {
        ProcessHandle.Info self = ProcessHandle.current().info();
        String command = self.command().orElseThrow(() -> new IOException("this process's command line is unknown"));
        List<String> line = new ArrayList<>();
        line.add(command);
        line.addAll(List.of(self.arguments().orElse(new String[0])));
        ProcessBuilder builder = new ProcessBuilder(line).inheritIO();
        Map<String, String> env = builder.environment();
        // sd_watchdog_enabled(3): WATCHDOG_PID names this process; without it the successor's pings count,
        // which they must once it is the main process.
        env.remove("WATCHDOG_PID");
        return builder.start();
    }
}
