package dev.fourtuple.gateway;

import dev.fourtuple.gateway.config.ConfigLoader;
import dev.fourtuple.gateway.config.ConfigProblem;
import dev.fourtuple.gateway.config.ConfigProblems;
import dev.fourtuple.gateway.config.GatewayConfig;
import dev.fourtuple.gateway.demo.EchoBackend;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fourtuple.gateway.host.HostLimits;
import dev.fourtuple.gateway.ops.Doctor;
import dev.fourtuple.gateway.ops.Signals;
import dev.fourtuple.gateway.config.TransportChoice;
import dev.fourtuple.gateway.transport.TransportKind;
import dev.fourtuple.gateway.transport.TransportSelector;
import java.io.IOException;
import java.io.PrintStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;

/**
 * The command line: {@code run} (default), {@code demo}, {@code check}, {@code echo-backend}.
 * Exit codes: 0 ok, 1 the gateway could not start (e.g. the port is taken), 2 bad usage or invalid config.
 */
public final class Main {
    static final int OK = 0;
    static final int FAILED = 1;
    static final int INVALID = 2;

    private static final String USAGE = """
            usage: fourtuple [run] --config FILE     run the gateway
                   fourtuple demo                    two echo backends and the gateway in front of them
                   fourtuple check --config FILE     validate a config file: exit 0, or 2 listing every problem
                   fourtuple doctor --config FILE [--json]   how many connections this host can hold, and
                                                     which limit binds first (exit 1: below max-connections)
                   fourtuple echo-backend IP:PORT [NAME]   an HTTP/WebSocket echo backend (tests, benchmarks)
            """;

    private Main() {
    }

    public static void main(String[] args) {
        int code = run(args, System.out, System.err);
        if (code != OK) {
            System.exit(code);
        }
    }

    /** Runs a command; returns its exit code, or blocks for the commands that serve until a signal. */
    static int run(String[] args, PrintStream out, PrintStream err) {
        List<String> rest = new ArrayList<>(Arrays.asList(args));
        String command = rest.isEmpty() || rest.get(0).startsWith("-") ? "run" : rest.remove(0);
        try {
            return switch (command) {
                case "run" -> serve(configOption(rest), err);
                case "check" -> check(configOption(rest), out, err);
                case "doctor" -> doctor(rest, out, err);
                case "demo" -> Demo.run(out, err);
                case "echo-backend" -> echoBackend(rest, out, err);
                case "help", "--help", "-h" -> {
                    out.print(USAGE);
                    yield OK;
                }
                default -> usage(err, "unknown command: " + command);
            };
        } catch (UsageException e) {
            return usage(err, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return FAILED;
        }
    }

    private static int check(Path file, PrintStream out, PrintStream err) {
        try {
            GatewayConfig config = ConfigLoader.load(file);
            out.println(file + ": ok (" + config.routes().size() + " route(s), " + config.clusters().size()
                    + " cluster(s))");
            return OK;
        } catch (ConfigProblems e) {
            printProblems(file.toString(), e, err);
            return INVALID;
        }
    }

    private static int doctor(List<String> args, PrintStream out, PrintStream err) {
        Path file = configOption(args);
        GatewayConfig config;
        try {
            config = ConfigLoader.load(file);
        } catch (ConfigProblems e) {
            printProblems(file.toString(), e, err);
            return INVALID;
        }
        // --proc-root and --cgroup-root point doctor at fixture files (tests); the defaults are this host's.
        Path proc = Path.of(option(args, "--proc-root", "/proc"));
        Path cgroup = Path.of(option(args, "--cgroup-root", "/sys/fs/cgroup"));
        HostLimits host;
        try {
            host = HostLimits.read(proc, cgroup, Runtime.getRuntime().availableProcessors());
        } catch (IOException | RuntimeException e) {
            err.println("doctor: cannot read this host's limits under " + proc + ": " + e);
            return FAILED;
        }
        Doctor.Report report = Doctor.report(config, host);
        if (args.contains("--json")) {
            try {
                out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(Doctor.json(report)));
            } catch (IOException e) {
                err.println("doctor: " + e);
                return FAILED;
            }
        } else {
            out.print(Doctor.text(report));
        }
        return report.belowMaxConnections() ? FAILED : OK;
    }

    private static String option(List<String> args, String name, String fallback) {
        int i = args.indexOf(name);
        return i >= 0 && i + 1 < args.size() ? args.get(i + 1) : fallback;
    }

    private static int serve(Path file, PrintStream err) throws InterruptedException {
        GatewayConfig config;
        try {
            config = ConfigLoader.load(file);
        } catch (ConfigProblems e) {
            printProblems(file.toString(), e, err);
            return INVALID;
        }
        // Signals first: a SIGTERM that comes while starting must not kill the JVM the default way (exit 143).
        // The handler waits for the start to end: the listener is bound (and may accept) before start returns,
        // so a signal in that window drains what was started rather than exiting past it.
        CompletableFuture<Service> started = new CompletableFuture<>();
        Signals.onTerminate(() -> {
            Service service = started.join();
            if (service != null) {
                service.drainAndStop();
            } // the start failed: nothing to drain
        });
        Signals.onReload(() -> {
            Service service = started.getNow(null);
            if (service != null) {
                service.reload();
            }
        });
        try {
            started.complete(Service.start(config, file));
        } catch (IllegalStateException e) {
            for (String line : e.getMessage().split("\n")) {
                err.println(file + ": " + line);
            }
            return INVALID;
        } catch (Exception e) { // a failed bind() throws its IOException unchecked
            return startFailed(config, e, err);
        } finally {
            started.complete(null); // no-op once started; after a failure, a waiting signal handler goes on
        }
        new CountDownLatch(1).await(); // serve until a signal exits the process
        return OK;
    }

    /** Explains a failed start (most often: the port is taken) in one line, without a stack trace. */
    static int startFailed(GatewayConfig config, Exception e, PrintStream err) {
        Throwable cause = e;
        while (cause.getCause() != null && !(cause instanceof BindException)) {
            cause = cause.getCause();
        }
        err.println(config.source() + ": listen: " + Gateway.format(config.listen()) + ": cannot bind: "
                + cause.getMessage());
        return FAILED;
    }

    private static int echoBackend(List<String> args, PrintStream out, PrintStream err) throws InterruptedException {
        if (args.isEmpty()) {
            throw new UsageException("echo-backend needs IP:PORT");
        }
        String[] hostPort = args.get(0).split(":(?=[0-9]+$)");
        if (hostPort.length != 2) {
            throw new UsageException("echo-backend: " + args.get(0) + " (expected: IP:PORT)");
        }
        String name = args.size() > 1 ? args.get(1) : args.get(0);
        TransportKind transport = TransportSelector.select(TransportChoice.AUTO).kind();
        EchoBackend backend = EchoBackend.start(new InetSocketAddress(hostPort[0], Integer.parseInt(hostPort[1])),
                name, transport, 0);
        out.println("echo backend " + name + " on " + Gateway.format(backend.address()) + " (" + transport.configName() + ")");
        Signals.onTerminate(backend::close);
        new CountDownLatch(1).await();
        return OK;
    }

    private static Path configOption(List<String> args) {
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (arg.equals("--config") && i + 1 < args.size()) {
                return Path.of(args.get(i + 1));
            }
            if (arg.startsWith("--config=")) {
                return Path.of(arg.substring("--config=".length()));
            }
        }
        throw new UsageException("--config FILE is required");
    }

    static void printProblems(String source, ConfigProblems e, PrintStream err) {
        for (ConfigProblem problem : e.problems()) {
            err.println(problem);
        }
        err.println(source + ": " + e.problems().size() + " problem(s); nothing was started");
    }

    private static int usage(PrintStream err, String message) {
        err.println(message);
        err.print(USAGE);
        return INVALID;
    }

    private static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }
}
