package dev.fourtuple.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Counts sockets in TIME_WAIT in this network namespace with {@code ss}, split by which side holds them. */
final class TimeWait {
    private TimeWait() {
    }

    /**
     * {@code total}, and {@code gatewayUpstream}: those whose remote end is a backend (127.0.0.1:9001+), i.e.
     * left on the gateway's scarce upstream tuples; {@code backendSide}: those whose local end is a backend.
     */
    static Map<String, Integer> count() throws IOException, InterruptedException {
        Process ss = new ProcessBuilder("ss", "-Htan", "state", "time-wait").redirectErrorStream(true).start();
        String out = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        ss.waitFor(10, TimeUnit.SECONDS);
        int total = 0;
        int upstream = 0;
        int backend = 0;
        for (String line : out.split("\n")) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length < 4) {
                continue;
            }
            total++;
            String local = fields[fields.length - 2];
            String peer = fields[fields.length - 1];
            if (isBackend(peer)) {
                upstream++;
            } else if (isBackend(local)) {
                backend++;
            }
        }
        Map<String, Integer> counts = new LinkedHashMap<>();
        counts.put("total", total);
        counts.put("gatewayUpstream", upstream);
        counts.put("backendSide", backend);
        return counts;
    }

    private static boolean isBackend(String address) {
        int colon = address.lastIndexOf(':');
        if (colon < 0) {
            return false;
        }
        int port = Integer.parseInt(address.substring(colon + 1));
        return port >= 9001 && port < 9100;
    }
}
