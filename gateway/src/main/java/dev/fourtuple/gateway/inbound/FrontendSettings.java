package dev.fourtuple.gateway.inbound;

import dev.fourtuple.gateway.config.Limits;
import dev.fourtuple.gateway.config.Timeouts;
import dev.fourtuple.gateway.route.Router;
import dev.fourtuple.gateway.transport.SocketOptions;

/**
 * What a client connection consults per request. Swapped as a whole (a reload), read per request head, so
 * one request never sees half of one config and half of another.
 */
public record FrontendSettings(Router router, Timeouts timeouts, Limits limits, SocketOptions socket) {
}
