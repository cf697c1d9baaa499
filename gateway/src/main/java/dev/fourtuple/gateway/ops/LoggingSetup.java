package dev.fourtuple.gateway.ops;

import ch.qos.logback.classic.AsyncAppender;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import dev.fourtuple.gateway.config.OpsSettings;
import java.util.Map;
import org.slf4j.LoggerFactory;

/**
 * Applies the {@code logging { }} settings to Logback, and under systemd drops the timestamp from each line
 * (journald stamps lines itself; systemd sets JOURNAL_STREAM for a service whose stdout is the journal).
 */
public final class LoggingSetup {
    private static final String JOURNAL_PATTERN = "%-5level %logger{0} - %msg%n";

    private LoggingSetup() {
    }

    /** Sets the levels; call again after a reload. */
    public static void apply(OpsSettings ops) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return; // another SLF4J binding: its own configuration rules
        }
        context.getLogger(Logger.ROOT_LOGGER_NAME).setLevel(Level.toLevel(ops.logLevel(), Level.INFO));
        for (Map.Entry<String, String> entry : ops.logLevels().entrySet()) {
            context.getLogger(entry.getKey()).setLevel(Level.toLevel(entry.getValue(), Level.INFO));
        }
    }

    /** Under journald, one line per event without our own timestamp. */
    public static void forJournal() {
        if (System.getenv("JOURNAL_STREAM") == null
                || !(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return;
        }
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        Appender<ILoggingEvent> stdout = root.getAppender("ASYNC") instanceof AsyncAppender async
                ? async.getAppender("STDOUT") : root.getAppender("STDOUT");
        if (stdout instanceof ConsoleAppender<ILoggingEvent> console) {
            PatternLayoutEncoder encoder = new PatternLayoutEncoder();
            encoder.setContext(context);
            encoder.setPattern(JOURNAL_PATTERN);
            encoder.start();
            console.stop();
            console.setEncoder(encoder);
            console.start();
        }
    }
}
