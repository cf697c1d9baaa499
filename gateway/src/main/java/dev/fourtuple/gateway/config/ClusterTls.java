package dev.fourtuple.gateway.config;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * TLS towards one cluster's backends ({@code clusters.NAME.tls}, over {@code cluster-defaults.tls}); present only
 * when {@code enabled = true}. Equal settings (the CA's certificates compared by content) make an equal record:
 * a reload that leaves them alone keeps the cluster's TLS context and its pooled connections.
 *
 * @param ca         the CA file as resolved (against the config file's folder), or null for the JDK's trust store
 * @param trusted    the CA file's certificates, read when the config was read; empty when {@code ca} is null
 * @param serverName SNI and hostname-verification name; empty = each backend's host as written
 * @param verify     false = no certificate or hostname check at all
 * @param location   where the config sets it (FILE:LINE), for messages about it
 */
public record ClusterTls(@Nullable Path ca, List<X509Certificate> trusted, String serverName, boolean verify,
        String location) {

    public ClusterTls {
        trusted = List.copyOf(trusted);
    }

    @Override
    public boolean equals(@Nullable Object other) {
        // location is where it was written, not what it is: moving a line in the file changes nothing.
        return other instanceof ClusterTls that && java.util.Objects.equals(ca, that.ca)
                && trusted.equals(that.trusted) && serverName.equals(that.serverName) && verify == that.verify;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(ca, trusted, serverName, verify);
    }
}
