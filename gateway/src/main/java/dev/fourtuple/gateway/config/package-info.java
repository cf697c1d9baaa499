/**
 * Configuration: HOCON (Typesafe Config) read once into immutable records and validated as a whole.
 *
 * <p>Start at {@link dev.fourtuple.gateway.config.ConfigLoader}; it yields a
 * {@link dev.fourtuple.gateway.config.GatewayConfig} or throws
 * {@link dev.fourtuple.gateway.config.ConfigProblems} listing every problem as
 * {@code FILE:LINE: key: value (expected: ...)}. The defaults live only in {@code reference.conf}.
 */
@NullMarked
package dev.fourtuple.gateway.config;

import org.jspecify.annotations.NullMarked;
