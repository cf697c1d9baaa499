package dev.fourtuple.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A network namespace of the test's own, with loopback up and a narrow ephemeral port range, so that port
 * exhaustion can be produced without touching the machine's own sysctls. Needs root (CI runs as root).
 */
final class Netns implements AutoCloseable {
    private static final AtomicInteger COUNTER = new AtomicInteger();

    private final String name;

    private Netns(String name) {
        this.name = name;
    }

    /** Creates {@code ft-PID-N} with lo up and {@code net.ipv4.ip_local_port_range = low high} inside it. */
    static Netns create(int low, int high) throws Exception {
        String name = "ft-" + ProcessHandle.current().pid() + "-" + COUNTER.incrementAndGet();
        run("ip", "netns", "add", name);
        Netns netns = new Netns(name);
        try {
            netns.exec("ip", "link", "set", "lo", "up");
            // /proc/sys/net is the namespace's own; writing it needs no sysctl binary.
            netns.exec("sh", "-c", "echo '" + low + " " + high + "' > /proc/sys/net/ipv4/ip_local_port_range");
        } catch (Exception e) {
            netns.close();
            throw e;
        }
        return netns;
    }

    String name() {
        return name;
    }

    /** Runs a command inside the namespace; returns its stdout and stderr; fails on a non-zero exit. */
    String exec(String... command) throws Exception {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", name));
        full.addAll(List.of(command));
        return run(full.toArray(String[]::new));
    }

    /** Deletes the namespace (and with it every socket still in it). */
    @Override
    public void close() throws Exception {
        run("ip", "netns", "del", name);
    }

    /** Names of the namespaces that exist now. */
    static List<String> list() throws Exception {
        List<String> names = new ArrayList<>();
        for (String line : run("ip", "netns", "list").split("\n")) {
            if (!line.isBlank()) {
                names.add(line.trim().split("\\s+")[0]);
            }
        }
        return names;
    }

    private static String run(String... command) throws Exception {
        Path output = Files.createTempFile("netns", ".out");
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(output.toFile()).start();
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException("timed out: " + String.join(" ", command));
            }
            String text = Files.readString(output, StandardCharsets.UTF_8);
            if (process.exitValue() != 0) {
                throw new IOException("exit " + process.exitValue() + ": " + String.join(" ", command) + "\n" + text);
            }
            return text;
        } finally {
            Files.deleteIfExists(output);
        }
    }
}
