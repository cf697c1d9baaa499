package dev.fourtuple.gateway.config;

/**
 * One thing wrong with a configuration, in the one format every validation error uses:
 * {@code FILE:LINE: key: value (expected: ...)}.
 *
 * @param location "FILE:LINE" of the offending value, or of the object that lacks a key
 * @param key      full path of the key, e.g. {@code clusters.echo.balancer} or {@code routes[0].cluster}
 * @param value    the value as written, or "(missing)"
 * @param expected what would have been accepted
 */
public record ConfigProblem(String location, String key, String value, String expected) {

    @Override
    public String toString() {
        return location + ": " + key + ": " + value + " (expected: " + expected + ")";
    }
}
