package dev.fourtuple.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Counts sockets in TIME_WAIT in this network namespace with {@code ss}, split by which side holds them. */
public final class TimeWait {
    private TimeWait() {
    }

    /**
     * {@code total}, and {@code gatewayUpstream}: those whose remote end is a backend (127.0.0.1:9001+), i.e.
     * left on the gateway's scarce upstream tuples; {@code backendSide}: those whose local end is a backend.
     */
    static Map<String, Integer> count() throws IOException, InterruptedException {
        int total = 0;
        int upstream = 0;
        int backend = 0;
        for (Pair pair : sockets()) {
            total++;
            if (isBackend(pair.peer)) {
                upstream++;
            } else if (isBackend(pair.local)) {
                backend++;
            }
        }
        Map<String, Integer> counts = new LinkedHashMap<>();
        counts.put("total", total);
        counts.put("gatewayUpstream", upstream);
        counts.put("backendSide", backend);
        return counts;
    }

    /** Those whose local end is {@code port}: on a proxy's listening port, the ones the proxy closed first. */
    public static int onLocalPort(int port) throws IOException, InterruptedException {
        int n = 0;
        for (Pair pair : sockets()) {
            if (port(pair.local) == port) {
                n++;
            }
        }
        return n;
    }

    /** Those with either end on one of {@code ports} (a run's listener and backends). */
    public static int involving(List<Integer> ports) throws IOException, InterruptedException {
        int n = 0;
        for (Pair pair : sockets()) {
            if (ports.contains(port(pair.local)) || ports.contains(port(pair.peer))) {
                n++;
            }
        }
        return n;
    }

    private record Pair(String local, String peer) {
    }

    private static List<Pair> sockets() throws IOException, InterruptedException {
        Process ss = new ProcessBuilder("ss", "-Htan", "state", "time-wait").redirectErrorStream(true).start();
        String out = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        ss.waitFor(10, TimeUnit.SECONDS);
        List<Pair> pairs = new ArrayList<>();
        for (String line : out.split("\n")) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length >= 4) {
                pairs.add(new Pair(fields[fields.length - 2], fields[fields.length - 1]));
            }
        }
        return pairs;
    }

    private static int port(String address) {
        int colon = address.lastIndexOf(':');
        try {
            return colon < 0 ? -1 : Integer.parseInt(address.substring(colon + 1));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static boolean isBackend(String address) {
        int port = port(address);
        return port >= 9001 && port < 9100;
    }
}
