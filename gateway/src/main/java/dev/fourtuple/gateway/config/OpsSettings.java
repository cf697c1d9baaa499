package dev.fourtuple.gateway.config;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Running the process: admin server, reload grace, logging.
 *
 * @param adminListen the admin server's address, or null when off
 * @param reloadGrace how long connections to a backend removed by a reload may go on; ZERO = forever
 * @param logLevel    the root log level
 * @param logLevels   levels of single loggers, by logger name
 */
public record OpsSettings(@Nullable InetSocketAddress adminListen, Duration reloadGrace, String logLevel,
        Map<String, String> logLevels) {

    public OpsSettings {
        logLevels = Map.copyOf(logLevels);
    }
}
