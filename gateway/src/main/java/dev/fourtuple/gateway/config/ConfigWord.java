package dev.fourtuple.gateway.config;

/** An enum constant's spelling in the config file, e.g. {@code least-connections} or {@code io_uring}. */
public interface ConfigWord {
    String word();
}
