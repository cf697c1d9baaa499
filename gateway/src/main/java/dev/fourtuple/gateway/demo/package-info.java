/**
 * The embedded HTTP and WebSocket echo backend that {@code demo}, the tests and the benchmarks put behind
 * the gateway. Start at {@link dev.fourtuple.gateway.demo.EchoBackend}.
 */
@NullMarked
package dev.fourtuple.gateway.demo;

import org.jspecify.annotations.NullMarked;
