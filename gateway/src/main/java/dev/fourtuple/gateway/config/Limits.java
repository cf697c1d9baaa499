package dev.fourtuple.gateway.config;

/**
 * Request size limits.
 *
 * @param maxInitialLineLength longest request line in bytes (414 above it)
 * @param maxHeaderSize        largest request head in bytes (431 above it)
 * @param maxRequestBodySize   largest request body in bytes (413 above it); {@link Long#MAX_VALUE} when off
 * @param bodyMinRate          body-min-rate: bytes per second that each earn a request body one more second
 *                             beyond body-timeout; 0 when off
 */
public record Limits(int maxInitialLineLength, int maxHeaderSize, long maxRequestBodySize, long bodyMinRate) {
}
