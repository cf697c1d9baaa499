package dev.fourtuple.gateway;

import dev.fourtuple.gateway.admission.AdmissionController;
import dev.fourtuple.gateway.tls.ServerTls;
import dev.fourtuple.gateway.tls.TlsEngine;
import dev.fourtuple.gateway.tls.TlsMeters;
import dev.fourtuple.gateway.admission.Resource;
import dev.fourtuple.gateway.upstream.Backend;
import dev.fourtuple.gateway.upstream.DnsNameStatus;
import java.time.Duration;
import dev.fourtuple.gateway.upstream.UpstreamTuple;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code /status} says, as a tree of maps and lists for Jackson: state, connections by side, admission
 * and headroom, upstream tuples in use against capacity, backends with their TLS (on/off), active and passive
 * health, config version; per DNS name its last answer, age, TTL and last error.
 */
final class StatusReport {
    private StatusReport() {
    }

    static Map<String, Object> of(Gateway gateway, String state) {
        Map<String, Object> status = new LinkedHashMap<>();
        status.put("state", state);
        status.put("pid", ProcessHandle.current().pid());
        status.put("transport", gateway.transport().configName());
        status.put("listen", gateway.address().getAddress().getHostAddress() + ":" + gateway.address().getPort());
        Map<String, Object> listeners = new LinkedHashMap<>();
        gateway.listenerAddresses().forEach((name, address) -> listeners.put(name, Gateway.format(address)));
        status.put("listeners", listeners);

        Map<String, Object> config = new LinkedHashMap<>();
        config.put("source", gateway.config().source());
        config.put("version", gateway.configVersion());
        config.put("loadedAt", gateway.configLoadedAt().toString());
        status.put("config", config);

        Map<String, Object> connections = new LinkedHashMap<>();
        connections.put("downstream", gateway.inboundMeters().active());
        connections.put("upstream", gateway.upstreamMeters().active());
        connections.put("tunnels", gateway.tunnelMeters().active());
        status.put("connections", connections);

        if (!gateway.tls().isEmpty()) {
            TlsMeters meters = gateway.tlsMeters();
            Map<String, Object> tls = new LinkedHashMap<>();
            tls.put("connections", meters.connections());
            tls.put("handshakesInFlight", meters.handshakesInFlight());
            tls.put("handshakesDone", (long) meters.handshakesDone());
            tls.put("handshakesFailed", (long) meters.handshakesFailed());
            // Outside heap and direct memory: in RSS and in the cgroup's reading, which admission watches.
            tls.put("nativeMemoryEstimatedBytes", meters.estimatedNativeBytes());
            Map<String, Object> byListener = new LinkedHashMap<>();
            for (ServerTls listener : gateway.tls()) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("engine", TlsEngine.describe(listener.provider()));
                row.put("protocols", listener.settings().protocols());
                row.put("certificates", listener.describeCertificates());
                byListener.put(listener.listener(), row);
            }
            tls.put("listeners", byListener);
            status.put("tls", tls);
        }

        AdmissionController admission = gateway.admission();
        Map<String, Object> admissionView = new LinkedHashMap<>();
        admissionView.put("enabled", admission.enabled());
        admissionView.put("state", admission.shedding() ? "shedding" : "accepting");
        admissionView.put("admitted", admission.admittedConnections());
        admissionView.put("refusalsInFlight", admission.refusalsInFlight());
        admissionView.put("freeFds", admission.freeFds());
        Map<String, Object> headroom = new LinkedHashMap<>();
        for (Resource resource : Resource.values()) {
            if (resource.hasHeadroom()) {
                headroom.put(resource.tag(), Math.round(admission.headroom(resource) * 1000) / 1000.0);
            }
        }
        admissionView.put("headroom", headroom);
        status.put("admission", admissionView);

        Map<String, Object> upstream = new LinkedHashMap<>();
        upstream.put("portsPerTuple", gateway.portsPerTuple());
        List<Map<String, Object>> tuples = new ArrayList<>();
        long inUse = 0;
        for (UpstreamTuple tuple : gateway.upstreamTuples()) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("source", tuple.sourceLabel());
            row.put("backend", tuple.backendLabel());
            row.put("inUse", tuple.inUse());
            row.put("full", tuple.learnedFull());
            tuples.add(row);
            inUse += tuple.inUse();
        }
        upstream.put("tuplesInUse", inUse);
        upstream.put("tupleCapacity", (long) tuples.size() * gateway.portsPerTuple());
        upstream.put("tuples", tuples);
        status.put("upstream", upstream);

        List<Map<String, Object>> backends = new ArrayList<>();
        long nowNanos = System.nanoTime();
        Instant now = Instant.now();
        gateway.backends().forEach((cluster, list) -> {
            for (Backend backend : list) {
                backends.add(backendRow(cluster, backend, nowNanos, now));
            }
        });
        status.put("backends", backends);

        List<Map<String, Object>> dns = new ArrayList<>();
        for (DnsNameStatus name : gateway.dnsStatus()) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("name", name.name());
            row.put("addresses", name.addresses());
            row.put("ttlSeconds", name.ttlSeconds());
            row.put("ageSeconds", name.answeredAt() == null ? null
                    : Duration.between(name.answeredAt(), now).toMillis() / 1000.0);
            row.put("lastError", name.lastError());
            row.put("lastErrorAt", name.lastErrorAt() == null ? null : name.lastErrorAt().toString());
            row.put("failingInARow", name.failing());
            dns.add(row);
        }
        if (!dns.isEmpty()) {
            status.put("dns", dns);
        }
        return status;
    }

    /**
     * One backend: health is {@code down} while its active check says so, else {@code ejected} while outlier
     * detection has it out (until when, the how-manieth time), else {@code up}.
     */
    private static Map<String, Object> backendRow(String cluster, Backend backend, long nowNanos, Instant now) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("cluster", cluster);
        row.put("name", backend.name());
        row.put("address", Gateway.format(backend.address()));
        row.put("weight", backend.weight());
        row.put("tls", backend.tls() == null ? "off" : "on");
        row.put("active", backend.active());
        boolean ejected = backend.ejected(nowNanos);
        row.put("health", !backend.up() ? "down" : ejected ? "ejected" : "up");
        row.put("ejections", backend.ejections());
        if (ejected) {
            long left = backend.ejectedUntilNanos() - nowNanos;
            row.put("ejectedUntil", now.plusNanos(left).toString());
            row.put("ejectedForMs", left / 1_000_000);
        }
        row.put("consecutiveFailures", backend.requestFailures());
        row.put("consecutiveConnectFailures", backend.consecutiveFailures());
        if (backend.lastCheckNanos() >= 0) {
            Map<String, Object> check = new LinkedHashMap<>();
            check.put("outcome", backend.lastCheck());
            check.put("latencyMs", Math.round(backend.lastCheckNanos() / 10_000.0) / 100.0);
            row.put("lastCheck", check);
        }
        return row;
    }
}
