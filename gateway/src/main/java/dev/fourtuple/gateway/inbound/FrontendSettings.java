package dev.fourtuple.gateway.inbound;

import dev.fourtuple.gateway.config.Limits;
import dev.fourtuple.gateway.config.Timeouts;
import dev.fourtuple.gateway.route.Router;
import dev.fourtuple.gateway.transport.SocketOptions;

/**
 * What a client connection consults per request. Swapped as a whole (a reload), read per request head, so
 * one request never sees half of one config and half of another.
 *
 * @param configVersion the version of the config these come from (1 at start, +1 per applied reload)
 */
public record FrontendSettings(Router router, Timeouts timeouts, Limits limits, SocketOptions socket,
        int configVersion) {
}
