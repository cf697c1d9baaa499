package dev.fourtuple.gateway.config;

import java.time.Duration;
import java.util.Map;

/**
 * Running the process: admin server, reload grace, logging.
 *
 * @param admin       the admin server
 * @param reloadGrace how long connections to a backend removed by a reload may go on; ZERO = forever
 * @param logLevel    the root log level
 * @param logLevels   levels of single loggers, by logger name
 */
public record OpsSettings(AdminSettings admin, Duration reloadGrace, String logLevel,
        Map<String, String> logLevels, Duration drainSpread, DrainCloseCode drainCloseCode) {

    public OpsSettings {
        logLevels = Map.copyOf(logLevels);
    }
}
