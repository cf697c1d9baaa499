package dev.fourtuple.bench.compare;

import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs {@code wrk} (keep-alive GETs: {@code -tTHREADS -cCONNECTIONS}) and reads its summary.
 *
 * @param requestsPerSecond "Requests/sec"
 * @param p99Millis         the 99th percentile latency
 * @param requests          requests completed
 * @param errors            socket errors and non-2xx/3xx responses
 */
record Wrk(double requestsPerSecond, double p99Millis, long requests, long errors) {
    private static final Pattern RPS = Pattern.compile("Requests/sec:\\s+([0-9.]+)");
    private static final Pattern P99 = Pattern.compile("\\s99%\\s+([0-9.]+)(us|ms|s)");
    private static final Pattern REQUESTS = Pattern.compile("(\\d+) requests in");
    private static final Pattern SOCKET_ERRORS = Pattern.compile(
            "Socket errors: connect (\\d+), read (\\d+), write (\\d+), timeout (\\d+)");
    private static final Pattern NON_2XX = Pattern.compile("Non-2xx or 3xx responses: (\\d+)");

    static Wrk run(String url, int threads, int connections, Duration duration) throws Exception {
        String out = ChildProcess.output(List.of("wrk", "-t" + threads, "-c" + connections,
                "-d" + duration.toSeconds() + "s", "--latency", url));
        Matcher rps = RPS.matcher(out);
        Matcher p99 = P99.matcher(out);
        Matcher requests = REQUESTS.matcher(out);
        if (!rps.find() || !p99.find() || !requests.find()) {
            throw new IllegalStateException("wrk printed no summary:\n" + out);
        }
        double scale = switch (p99.group(2)) {
            case "us" -> 0.001;
            case "s" -> 1000;
            default -> 1;
        };
        long errors = 0;
        Matcher socket = SOCKET_ERRORS.matcher(out);
        if (socket.find()) {
            for (int i = 1; i <= 4; i++) {
                errors += Long.parseLong(socket.group(i));
            }
        }
        Matcher non2xx = NON_2XX.matcher(out);
        if (non2xx.find()) {
            errors += Long.parseLong(non2xx.group(1));
        }
        return new Wrk(Double.parseDouble(rps.group(1)), Double.parseDouble(p99.group(1)) * scale,
                Long.parseLong(requests.group(1)), errors);
    }
}
