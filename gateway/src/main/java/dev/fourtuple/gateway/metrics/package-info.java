/**
 * Cross-cutting telemetry that every capability uses and that uses none of them: counted, rate-limited
 * problem reports ({@link dev.fourtuple.gateway.metrics.ProblemLog}). Meters of a capability live in a small
 * holder inside that capability's own package.
 */
@NullMarked
package dev.fourtuple.gateway.metrics;

import org.jspecify.annotations.NullMarked;
