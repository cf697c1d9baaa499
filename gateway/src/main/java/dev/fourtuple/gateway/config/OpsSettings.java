package dev.fourtuple.gateway.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Running the process: admin server, reload grace, logging.
 *
 * @param admin       the admin server
 * @param reloadGrace how long connections to a backend removed by a reload may go on; ZERO = forever
 * @param logLevel    the root log level
 * @param logLevels   levels of single loggers, by logger name
 * @param drainDelay     on SIGTERM, how long the gateway is not ready while its listeners still accept
 * @param drainSpread    the window over which a drain closes tunnels
 * @param drainCloseCode the Close a drain sends each tunnel
 * @param handoverSocket the Unix socket a successor takes everything over through; null: off
 */
public record OpsSettings(AdminSettings admin, Duration reloadGrace, String logLevel,
        Map<String, String> logLevels, Duration drainDelay, Duration drainSpread, DrainCloseCode drainCloseCode,
        @Nullable Path handoverSocket) {

    public OpsSettings {
        logLevels = Map.copyOf(logLevels);
    }
}
