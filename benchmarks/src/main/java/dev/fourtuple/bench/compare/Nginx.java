package dev.fourtuple.bench.compare;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * nginx as a WebSocket-aware reverse proxy: a master and {@code worker_processes} workers, access log off,
 * the backends round robin in one {@code upstream} block with {@code keepalive 64} (idle connections kept per
 * worker, across all its servers) for plain requests, {@code Upgrade}/{@code Connection} passed on for
 * WebSocket. With TLS:
 * {@code listen ... ssl}, the certificate and key, TLS 1.3 only, everything else its defaults: session tickets
 * on (keys made at start, shared by the workers), {@code ssl_session_cache none} (TLS 1.3 resumes by ticket).
 */
record Nginx(String executable) implements Proxy {
    /** {@code keepalive}: idle upstream connections kept per worker, across all its servers. */
    static final int KEEPALIVE = 64;

    @Override
    public String name() {
        return "nginx";
    }

    @Override
    public Running start(Setup setup) throws Exception {
        Path dir = setup.dir();
        Path config = dir.resolve("nginx.conf");
        Files.writeString(config, """
                daemon off;
                master_process on;
                worker_processes %d;
                worker_rlimit_nofile 20000;
                pid %s/nginx.pid;
                error_log %s/nginx-error.log error;
                events {
                    worker_connections 20000;
                }
                http {
                    access_log off;
                    client_body_temp_path %s/body;
                    proxy_temp_path %s/proxy;
                    map $http_upgrade $connection_upgrade {
                        default upgrade;
                        '' '';
                    }
                    upstream echo {
                %s        keepalive %d;
                    }
                    server {
                        listen %s:%d%s;
                %s
                        location / {
                            proxy_pass http://echo;
                            proxy_http_version 1.1;
                            proxy_set_header Upgrade $http_upgrade;
                            proxy_set_header Connection $connection_upgrade;
                            proxy_read_timeout 1h;
                            proxy_send_timeout 1h;
                        }
                    }
                }
                """.formatted(setup.threads(), dir, dir, dir, dir, servers(setup.backends()), KEEPALIVE,
                setup.listen().getHostString(), setup.listen().getPort(),
                setup.tls() == null ? "" : " ssl", tls(setup.tls())));
        ChildProcess child = ChildProcess.start(List.of(executable, "-p", dir.toString(), "-c", config.toString()),
                dir.resolve("nginx.log"), setup.listen());
        String version = ChildProcess.output(List.of(executable, "-v")).lines().findFirst().orElse("nginx");
        return new NativeProxy(child, setup.listen(), version);
    }

    private static String tls(@Nullable Certificate tls) {
        return tls == null ? "" : """
                        ssl_certificate %s;
                        ssl_certificate_key %s;
                        ssl_protocols TLSv1.3;
                """.formatted(tls.cert(), tls.key());
    }

    /** {@code server HOST:PORT;} per backend (round robin, nginx's default). */
    private static String servers(List<InetSocketAddress> backends) {
        StringBuilder lines = new StringBuilder();
        for (InetSocketAddress backend : backends) {
            lines.append("            server ").append(backend.getHostString()).append(':').append(backend.getPort())
                    .append(";\n");
        }
        return lines.toString();
    }
}
