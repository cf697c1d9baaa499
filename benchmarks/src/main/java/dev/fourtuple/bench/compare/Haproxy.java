package dev.fourtuple.bench.compare;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * HAProxy in HTTP mode (WebSocket upgrades pass through as tunnels), {@code nbthread} threads in one
 * process, no logging, the backends round robin ({@code server b1..bN}, no {@code source}: the kernel's choice), server-side keep-alive (its default {@code http-reuse safe}). With TLS: {@code ssl crt}
 * (certificate and key in one file), TLS 1.3 only, everything else its defaults: session tickets on (keys
 * made at start), the session cache for TLS 1.2 ids unused by TLS 1.3.
 */
record Haproxy(String executable) implements Proxy {

    @Override
    public String name() {
        return "haproxy";
    }

    @Override
    public Running start(Setup setup) throws Exception {
        Path config = setup.dir().resolve("haproxy.cfg");
        Files.writeString(config, """
                global
                    nbthread %d
                defaults
                    mode http
                    timeout connect 5s
                    timeout client 60s
                    timeout server 60s
                    timeout tunnel 1h
                    timeout http-keep-alive 60s
                frontend bench
                    bind %s:%d%s
                    default_backend echo
                backend echo
                    balance roundrobin
                %s""".formatted(setup.threads(), setup.listen().getHostString(), setup.listen().getPort(),
                setup.tls() == null ? "" : " ssl crt " + setup.tls().combined() + " ssl-min-ver TLSv1.3",
                servers(setup.backends())));
        ChildProcess child = ChildProcess.start(List.of(executable, "-db", "-f", config.toString()),
                setup.dir().resolve("haproxy.log"), setup.listen());
        String version = ChildProcess.output(List.of(executable, "-v")).lines().findFirst().orElse("haproxy");
        return new NativeProxy(child, setup.listen(), version);
    }

    /** {@code server b1 HOST:PORT}, {@code b2}, ...: one line per backend. */
    private static String servers(List<InetSocketAddress> backends) {
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < backends.size(); i++) {
            lines.append("    server b").append(i + 1).append(' ').append(backends.get(i).getHostString())
                    .append(':').append(backends.get(i).getPort()).append('\n');
        }
        return lines.toString();
    }
}
