package dev.fourtuple.bench;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Follows a log file that processes append to (the gateway and the successor it starts share one), line by
 * line as they come, every few milliseconds: each line with the moment it was read here and the timestamp it
 * carries ({@code HH:mm:ss.SSS}, logback's pattern outside the journal).
 */
final class LogFollower implements AutoCloseable {
    private static final long POLL_MILLIS = 2;
    private static final Pattern STAMP = Pattern.compile("^(\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) ");

    /**
     * @param readNanos when this process read it ({@link System#nanoTime})
     * @param stamped   the time it carries, or null when it carries none
     */
    record Line(long readNanos, @Nullable LocalTime stamped, String text) {
    }

    /** A line and what matched in it. */
    record Match(Line line, Matcher matcher) {
        String group(int group) {
            return matcher.group(group);
        }
    }

    private final Path file;
    private final List<Line> lines = new ArrayList<>();
    private final Thread reader;
    private volatile boolean running = true;

    private LogFollower(Path file) {
        this.file = file;
        this.reader = new Thread(this::follow, "log-follower");
        reader.setDaemon(true);
    }

    static LogFollower follow(Path file) {
        LogFollower follower = new LogFollower(file);
        follower.reader.start();
        return follower;
    }

    private void follow() {
        long position = 0;
        StringBuilder partial = new StringBuilder();
        byte[] chunk = new byte[64 * 1024];
        while (running) {
            try (RandomAccessFile in = new RandomAccessFile(file.toFile(), "r")) {
                in.seek(position);
                int n;
                while ((n = in.read(chunk)) > 0) {
                    position += n;
                    partial.append(new String(chunk, 0, n, StandardCharsets.UTF_8));
                }
            } catch (IOException notYet) {
                // not created yet
            }
            long now = System.nanoTime();
            int end;
            while ((end = partial.indexOf("\n")) >= 0) {
                String text = partial.substring(0, end);
                partial.delete(0, end + 1);
                synchronized (lines) {
                    lines.add(new Line(now, stamp(text), text));
                    lines.notifyAll();
                }
            }
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private static @Nullable LocalTime stamp(String text) {
        Matcher m = STAMP.matcher(text);
        try {
            return m.find() ? LocalTime.parse(m.group(1)) : null;
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    /** The first line that matches {@code pattern}, if one has come. */
    @Nullable Match find(Pattern pattern) {
        synchronized (lines) {
            for (Line line : lines) {
                Matcher m = pattern.matcher(line.text());
                if (m.find()) {
                    return new Match(line, m);
                }
            }
            return null;
        }
    }

    /** Every line that matches {@code pattern} so far. */
    List<Match> findAll(Pattern pattern) {
        List<Match> all = new ArrayList<>();
        synchronized (lines) {
            for (Line line : lines) {
                Matcher m = pattern.matcher(line.text());
                if (m.find()) {
                    all.add(new Match(line, m));
                }
            }
        }
        return all;
    }

    /**
     * Waits for the first line that matches {@code pattern}.
     *
     * @throws TimeoutException naming the pattern, with the log's tail, when none comes within {@code timeout}
     */
    Match await(Pattern pattern, Duration timeout) throws InterruptedException, TimeoutException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (lines) {
            while (true) {
                Match match = find(pattern);
                if (match != null) {
                    return match;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new TimeoutException("no line like /" + pattern + "/ in " + file + " within " + timeout
                            + "; its last lines:\n" + tail(20));
                }
                lines.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
        }
    }

    /**
     * Waits for the first line that matches any of {@code patterns}.
     *
     * @throws TimeoutException naming the patterns, with the log's tail, when none comes within {@code timeout}
     */
    Match awaitAny(Duration timeout, Pattern... patterns) throws InterruptedException, TimeoutException {
        StringBuilder any = new StringBuilder();
        for (Pattern p : patterns) {
            any.append(any.length() == 0 ? "" : "|").append("(?:").append(p.pattern()).append(')');
        }
        Match match = await(Pattern.compile(any.toString()), timeout);
        for (Pattern p : patterns) {
            Matcher m = p.matcher(match.line().text());
            if (m.find()) {
                return new Match(match.line(), m);
            }
        }
        return match;
    }

    /** The last {@code count} lines. */
    String tail(int count) {
        synchronized (lines) {
            List<String> last = new ArrayList<>();
            for (Line line : lines.subList(Math.max(0, lines.size() - count), lines.size())) {
                last.add(line.text());
            }
            return String.join("\n", last);
        }
    }

    /** Time from {@code from} to {@code to} as stamped (a midnight in between is allowed for). */
    static Duration between(LocalTime from, LocalTime to) {
        Duration d = Duration.between(from, to);
        return d.isNegative() && d.compareTo(Duration.ofHours(-12)) < 0 ? d.plusDays(1) : d;
    }

    String text() throws IOException {
        return Files.readString(file);
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        reader.interrupt();
        reader.join(1000);
    }
}
