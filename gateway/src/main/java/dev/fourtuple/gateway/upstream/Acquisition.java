package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.HashKey;
import dev.fourtuple.gateway.metrics.Problem;
import dev.fourtuple.gateway.connection.ClientAddress;
import io.netty.channel.Channel;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashSet;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * One request's hold on its cluster: the backend it is on, the ones it tried, and the count of requests and
 * tunnels in progress on that backend (taken when a backend is picked, given back once by {@link #finished}).
 *
 * <p>Connect failures move it to another backend (RFC 9110 §9.2.2: nothing was sent, so this is safe for
 * every method), at most {@link #MAX_CONNECT_ATTEMPTS} backends; a backend whose four-tuples are all in use
 * is not the backend's fault and does not count as an attempt. Every outcome is a health signal: a connect
 * failure or timeout, a 5xx and a response timeout count against the backend, any other response for it.
 * Everything runs on the request's event loop.
 */
public final class Acquisition implements UpstreamConnector.Callback {
    /** First try plus at most two other backends of the cluster when a connect fails (not for lack of ports). */
    static final int MAX_CONNECT_ATTEMPTS = 3;

    private final ClusterClient client;
    private final Cluster cluster;
    private final Channel clientChannel;
    private final Acquirer acquirer;
    private final @Nullable Backend sticky;
    private final boolean keyed;
    private final long keyHash;

    private Set<Backend> tried = Set.of();
    private @Nullable Backend backend;
    private boolean ended;
    private int connectFailures;
    private HttpResponseStatus lastConnectStatus = HttpResponseStatus.BAD_GATEWAY;
    private @Nullable String exhausted;

    Acquisition(ClusterClient client, Cluster cluster, Channel clientChannel, HttpRequest request, Acquirer acquirer) {
        this.client = client;
        this.cluster = cluster;
        this.clientChannel = clientChannel;
        this.acquirer = acquirer;
        String cookie = cluster.stickyCookie();
        String stickyValue = cookie == null ? null : SessionKeys.cookie(request, cookie);
        this.sticky = stickyValue == null ? null : cluster.bySticky(stickyValue);
        HashKey key = cluster.hashKey();
        // The client's own address: the PROXY header's when a balancer sent one, else the socket's.
        InetAddress clientAddress = ClientAddress.of(clientChannel) instanceof InetSocketAddress address
                ? address.getAddress() : null;
        String value = key == null ? null : SessionKeys.find(key, request, clientAddress);
        this.keyed = value != null;
        this.keyHash = value == null ? 0 : SessionKeys.hash(value);
    }

    void start() {
        Backend first = cluster.pick(tried, sticky, keyed, keyHash, System.nanoTime());
        if (first == null) {
            end();
            acquirer.onUnavailable(HttpResponseStatus.BAD_GATEWAY, Problem.BACKEND_REFUSED,
                    "cluster " + cluster.name() + " has no backend");
            return;
        }
        connectTo(first);
    }

    private void connectTo(Backend target) {
        backend = target;
        target.started();
        client.connector().acquire(clientChannel.eventLoop(), target, clientChannel, this);
    }

    /** The backend it is on (or connecting to), or null once it ended. */
    public @Nullable Backend backend() {
        return backend;
    }

    @Override
    public void onConnected(UpstreamConnectionHandler connection) {
        if (ended) {
            connection.release(); // the client left while we connected; the connection is clean
            return;
        }
        acquirer.onAcquired(connection);
    }

    @Override
    public void onConnectFailed(Throwable cause) {
        Backend failed = backend;
        if (ended || failed == null) {
            return;
        }
        backend = null;
        failed.finished();
        if (tried.isEmpty()) {
            tried = new HashSet<>(4);
        }
        tried.add(failed);
        long now = System.nanoTime();
        if (cause instanceof TuplesExhaustedException) {
            // Not the backend's fault and not an attempt on it: try the others before answering 503.
            exhausted = exhausted == null ? cause.getMessage() : exhausted + "; " + cause.getMessage();
            Backend next = cluster.pick(tried, sticky, keyed, keyHash, now);
            if (next != null) {
                connectTo(next);
            } else if (connectFailures == 0) {
                unavailable(HttpResponseStatus.SERVICE_UNAVAILABLE, Problem.PORTS_EXHAUSTED,
                        "cluster " + cluster.name() + ": " + exhausted);
            } else {
                unavailable(lastConnectStatus);
            }
            return;
        }
        boolean timedOut = cause instanceof ConnectTimeoutException;
        Problem problem = timedOut ? Problem.CONNECT_TIMEOUT
                : cause instanceof BackendHandshakeException ? Problem.BACKEND_TLS : Problem.BACKEND_REFUSED;
        client.problems().report(problem, failed + " (cluster " + cluster.name() + "): " + cause.getMessage());
        cluster.failed(failed, now);
        connectFailures++;
        lastConnectStatus = timedOut ? HttpResponseStatus.GATEWAY_TIMEOUT : HttpResponseStatus.BAD_GATEWAY;
        Backend next = connectFailures < MAX_CONNECT_ATTEMPTS ? cluster.pick(tried, sticky, keyed, keyHash, now) : null;
        if (next != null) {
            connectTo(next);
        } else {
            unavailable(lastConnectStatus);
        }
    }

    private void unavailable(HttpResponseStatus status) {
        unavailable(status, status.code() == 504 ? Problem.CONNECT_TIMEOUT : Problem.BACKEND_REFUSED,
                "cluster " + cluster.name() + ": no backend could be reached");
    }

    private void unavailable(HttpResponseStatus status, Problem problem, String detail) {
        end();
        acquirer.onUnavailable(status, problem, detail);
    }

    /**
     * A fresh connection to the same backend, for a request the backend's pooled connection dropped before
     * any byte of a response (RFC 9112 §9.3.1); the outcome comes to the acquirer again.
     */
    public void reconnect() {
        Backend target = backend;
        if (!ended && target != null) {
            client.connector().connect(clientChannel.eventLoop(), target, clientChannel, this);
        }
    }

    /**
     * The backend's response head: a 5xx counts against the backend, anything else for it. When the cluster
     * sets a sticky cookie and the request did not carry a valid one for this backend, the response gets it
     * (RFC 6265 §4.1: HttpOnly, the whole site), so the session's next requests come back here.
     */
    public void responded(HttpResponse response) {
        Backend target = backend;
        if (target == null) {
            return;
        }
        if (response.status().code() >= 500) {
            cluster.failed(target, System.nanoTime());
        } else {
            cluster.succeeded(target);
        }
        String cookie = cluster.stickyCookie();
        if (cookie != null && target != sticky) {
            response.headers().add(HttpHeaderNames.SET_COOKIE,
                    cookie + "=" + cluster.stickyId(target) + "; Path=/; HttpOnly; SameSite=Lax");
        }
    }

    /**
     * The backend failed the request without a final response (it closed, sent something unusable, or did
     * not answer within the request timeout): counts against it.
     */
    public void failed() {
        Backend target = backend;
        if (target != null) {
            cluster.failed(target, System.nanoTime());
        }
    }

    /** The request is over: the backend's count of work in progress goes down once. */
    public void finished() {
        end();
    }

    /**
     * Hands the backend's count over to what outlives the request (its tunnel): the returned task, run once when
     * that ends, brings the count down. It holds the backend alone, not this acquisition, which holds its
     * exchange and through it the request's head and the HTTP handlers: kept by every idle tunnel, those were
     * 1.5 KB of heap per tunnel (jmap -histo:live over 8,000 idle tunnels).
     */
    public Runnable handOver() {
        Backend target = backend;
        backend = null;
        ended = true;
        return target == null ? () -> { } : target::finished;
    }

    private void end() {
        handOver().run(); // once ended no backend is left (connectTo never runs after): a second end does nothing
    }
}
