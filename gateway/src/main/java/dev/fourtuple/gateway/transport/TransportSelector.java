package dev.fourtuple.gateway.transport;

import dev.fourtuple.gateway.config.TransportChoice;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the {@code transport} setting into a transport that loads here, saying why.
 *
 * <p>{@code auto} tries {@link #AUTO_ORDER} in turn. Epoll comes first because it measured faster than
 * io_uring on this project's machines for our workload (README, "Transport"), and io_uring in Netty 4.2 has
 * had throughput regressions; io_uring has to earn first place with a measurement, not a reputation.
 */
public final class TransportSelector {
    /** The order {@code auto} tries; see the class comment for why. */
    public static final List<TransportKind> AUTO_ORDER =
            List.of(TransportKind.EPOLL, TransportKind.IO_URING, TransportKind.NIO);

    private static final Logger log = LoggerFactory.getLogger(TransportSelector.class);

    private TransportSelector() {
    }

    /** The chosen transport plus one line for the log saying why. */
    public record Selection(TransportKind kind, String reason) {
    }

    /**
     * Chooses a transport.
     *
     * @throws IllegalStateException when a native transport is named explicitly and does not load here
     */
    public static Selection select(TransportChoice choice) {
        if (choice != TransportChoice.AUTO) {
            TransportKind kind = TransportKind.valueOf(choice.name());
            Throwable cause = kind.unavailabilityCause();
            if (cause != null) {
                throw new IllegalStateException("transport: " + kind.configName()
                        + " (expected: a transport that loads on this host; it does not: " + describe(cause) + ")");
            }
            return new Selection(kind, kind.configName() + " (set in config)");
        }
        List<String> skipped = new ArrayList<>();
        for (TransportKind kind : AUTO_ORDER) {
            Throwable cause = kind.unavailabilityCause();
            if (cause == null) {
                String reason = kind.configName() + " (auto";
                reason += skipped.isEmpty() ? ", first choice)" : "; not " + String.join(", not ", skipped) + ")";
                return new Selection(kind, reason);
            }
            skipped.add(kind.configName() + ": " + describe(cause));
        }
        throw new IllegalStateException("no transport loads here: " + skipped);
    }

    /** Selects and logs the choice. */
    public static TransportKind selectAndLog(TransportChoice choice) {
        Selection selection = select(choice);
        log.info("transport {}", selection.reason());
        return selection.kind();
    }

    private static String describe(Throwable cause) {
        Throwable root = cause;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getClass().getSimpleName() + ": " + root.getMessage();
    }
}
