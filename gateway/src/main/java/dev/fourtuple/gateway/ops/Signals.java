package dev.fourtuple.gateway.ops;

import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * SIGTERM and SIGINT start a graceful drain and then exit 0, which is what systemd counts as a clean stop
 * (a JVM shutdown hook would exit 143). A second signal while draining exits at once. SIGHUP reloads.
 */
public final class Signals {
    private static final Logger log = LoggerFactory.getLogger(Signals.class);

    private Signals() {
    }

    /** Runs {@code drain} on the first TERM or INT, then exits 0; exits 1 at once on the second. */
    public static void onTerminate(Runnable drain) {
        AtomicBoolean draining = new AtomicBoolean();
        for (String name : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(name), signal -> {
                if (!draining.compareAndSet(false, true)) {
                    log.warn("SIG{} again while draining: exiting now", signal.getName());
                    Runtime.getRuntime().halt(1);
                }
                log.info("SIG{}: draining", signal.getName());
                try {
                    drain.run();
                } finally {
                    System.exit(0);
                }
            });
        }
    }

    /** Runs {@code upgrade} on each SIGUSR2: start a successor that takes everything over. */
    public static void onUpgrade(Runnable upgrade) {
        Signal.handle(new Signal("USR2"), signal -> {
            log.info("SIGUSR2: upgrading");
            upgrade.run();
        });
    }

    /** Runs {@code reload} on each SIGHUP (on the signal's own thread, one at a time). */
    public static void onReload(Runnable reload) {
        Object lock = new Object();
        Signal.handle(new Signal("HUP"), signal -> {
            synchronized (lock) {
                reload.run();
            }
        });
    }
}
