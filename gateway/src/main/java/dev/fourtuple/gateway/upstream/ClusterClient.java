package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.metrics.ProblemLog;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpRequest;

/**
 * Where requests get their upstream connection: picks a cluster's backend (sticky cookie, session hash,
 * balancer, health), takes a pooled connection or a four-tuple and connects, moves to another backend when a
 * connect fails, and turns each outcome into the backend's health. One per listener's front end; no state of
 * its own beyond what it is built with.
 */
public final class ClusterClient {
    private final UpstreamConnector connector;
    private final ProblemLog problems;

    public ClusterClient(UpstreamConnector connector, ProblemLog problems) {
        this.connector = connector;
        this.problems = problems;
    }

    /**
     * Starts finding a connection for {@code request} of the client connection {@code client}, on its loop;
     * {@code acquirer} hears of the outcome on that loop (possibly before this returns).
     */
    public Acquisition acquire(Cluster cluster, Channel client, HttpRequest request, Acquirer acquirer) {
        Acquisition acquisition = new Acquisition(this, cluster, client, request, acquirer);
        acquisition.start();
        return acquisition;
    }

    UpstreamConnector connector() {
        return connector;
    }

    ProblemLog problems() {
        return problems;
    }
}
