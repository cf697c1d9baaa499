package dev.fourtuple.bench.compare;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A process the comparison started: its output goes to a log file; it is stopped by its pid only. */
final class ChildProcess implements AutoCloseable {
    private final Process process;
    private final Path log;

    private ChildProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /** Starts {@code command} and waits (at most 30 s) until {@code port} accepts connections. */
    static ChildProcess start(List<String> command, Path log, InetSocketAddress port) throws Exception {
        if (accepts(port)) {
            throw new IllegalStateException(port + " is already taken by another process; stop it first");
        }
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        ChildProcess child = new ChildProcess(process, log);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!accepts(port)) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                child.close();
                throw new IllegalStateException(String.join(" ", command) + " did not start listening on "
                        + port + "; its log " + log + ":\n" + Files.readString(log));
            }
            Thread.sleep(50);
        }
        return child;
    }

    private static boolean accepts(InetSocketAddress port) {
        try (Socket probe = new Socket()) {
            probe.connect(port, 200);
            return true;
        } catch (IOException closed) {
            return false;
        }
    }

    long pid() {
        return process.pid();
    }

    /** Runs a short command and returns its output (for version lines, jcmd). */
    static String output(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        return out;
    }

    /** SIGTERM, then SIGKILL after 15 s; the log stays for a post-mortem. */
    @Override
    public void close() throws Exception {
        process.destroy();
        if (!process.waitFor(15, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }

    Path log() {
        return log;
    }
}
