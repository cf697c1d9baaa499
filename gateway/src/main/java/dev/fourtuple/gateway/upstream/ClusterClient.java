package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.metrics.ProblemLog;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpRequest;
import java.net.InetAddress;
import org.jspecify.annotations.Nullable;

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
     * Starts finding a connection for {@code request} on {@code loop}; {@code acquirer} hears of the outcome
     * on that loop (possibly before this returns).
     *
     * @param client the client's address (for a {@code client-ip} hash key), or null when unknown
     */
    public Acquisition acquire(Cluster cluster, EventLoop loop, HttpRequest request, @Nullable InetAddress client,
            Acquirer acquirer) {
        Acquisition acquisition = new Acquisition(this, cluster, loop, request, client, acquirer);
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
