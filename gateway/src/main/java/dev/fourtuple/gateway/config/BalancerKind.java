package dev.fourtuple.gateway.config;

/** The {@code balancer} setting of a cluster. */
public enum BalancerKind {
    ROUND_ROBIN, LEAST_CONNECTIONS
}
