package dev.fourtuple.gateway;

import dev.fourtuple.gateway.CommandLine.Command;
import dev.fourtuple.gateway.CommandLine.Flag;
import dev.fourtuple.gateway.CommandLine.Parsed;
import dev.fourtuple.gateway.CommandLine.UsageException;
import dev.fourtuple.gateway.config.ConfigLoader;
import dev.fourtuple.gateway.config.ConfigProblem;
import dev.fourtuple.gateway.config.ConfigProblems;
import dev.fourtuple.gateway.config.GatewayConfig;
import dev.fourtuple.gateway.config.ListenerConfig;
import dev.fourtuple.gateway.tls.ServerTls;
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
import java.net.InetSocketAddress;
import dev.fourtuple.gateway.handover.Message;
import dev.fourtuple.gateway.handover.UpgradeRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * The command line: {@code run} (default), {@code check}, {@code doctor}, {@code upgrade}, {@code demo},
 * {@code echo-backend},
 * {@code help}; each command takes only its own flags ({@link CommandLine}).
 * Exit codes: 0 ok, 1 the gateway could not start (e.g. the port is taken), 2 bad usage or invalid config.
 */
public final class Main {
    static final int OK = 0;
    static final int FAILED = 1;
    static final int INVALID = 2;

    private static final Flag CONFIG = new Flag("--config", "FILE",
            "the config file (HOCON); reference.conf supplies every key it leaves out");
    static final Command RUN = new Command("run", "--config FILE", "run the gateway (the default command)",
            List.of(CONFIG), "", "", 0, 0);
    static final Command CHECK = new Command("check", "--config FILE",
            "validate a config file: exit 0, or 2 listing every problem", List.of(CONFIG), "", "", 0, 0);
    static final Command DOCTOR = new Command("doctor", "--config FILE [--json]",
            "how many connections this host can hold, and which limit binds first (exit 1: below max-connections)",
            List.of(CONFIG,
                    new Flag("--json", null, "the report as JSON"),
                    new Flag("--proc-root", "DIR", "read the host's limits under DIR instead of /proc (tests)"),
                    new Flag("--cgroup-root", "DIR", "read cgroup limits under DIR instead of /sys/fs/cgroup (tests)")),
            "", "", 0, 0);
    static final Command DEMO = new Command("demo", "", "two echo backends and the gateway in front of them",
            List.of(), "", "", 0, 0);
    static final Command ECHO_BACKEND = new Command("echo-backend", "IP:PORT [NAME]",
            "an HTTP/WebSocket echo backend (tests, benchmarks)", List.of(), "IP:PORT [NAME]",
            "the address to listen on (port 0: any free port); NAME goes in X-Backend (default: IP:PORT)", 1, 2);
    static final Command UPGRADE = new Command("upgrade", "--config FILE",
            "have the running gateway start its successor, which takes over its listeners and connections "
                    + "(exit 0 once it has, 1 if it failed)", List.of(CONFIG), "", "", 0, 0);
    static final Command HELP = new Command("help", "[COMMAND]", "the usage of every command, or of one",
            List.of(), "COMMAND", "one of: run, check, doctor, upgrade, demo, echo-backend", 0, 1);
    private static final List<Command> COMMANDS = List.of(RUN, CHECK, DOCTOR, UPGRADE, DEMO, ECHO_BACKEND, HELP);
    /** How long {@code upgrade} waits beyond the drain-timeout for the successor to have taken over. */
    private static final Duration UPGRADE_MARGIN = Duration.ofMinutes(5);

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
        List<String> words = new ArrayList<>(Arrays.asList(args));
        if (!words.isEmpty() && CommandLine.isHelp(words.get(0))) {
            words.set(0, HELP.name()); // fourtuple --help [COMMAND]
        }
        String name = words.isEmpty() || words.get(0).startsWith("-") ? RUN.name() : words.remove(0);
        try {
            Command command = command(name);
            Parsed parsed = CommandLine.parse(command, words);
            if (parsed.help()) {
                out.print(command.usage());
                return OK;
            }
            return switch (name) {
                case "run" -> serve(config(command, parsed), err);
                case "check" -> check(config(command, parsed), out, err);
                case "doctor" -> doctor(config(command, parsed), parsed, out, err);
                case "upgrade" -> upgrade(config(command, parsed), out, err);
                case "demo" -> Demo.run(out, err);
                case "echo-backend" -> echoBackend(parsed.arguments(), out);
                default -> help(parsed.arguments(), out);
            };
        } catch (UsageException e) {
            err.println(e.getMessage());
            Command command = e.command();
            err.print(command == null ? CommandLine.usage(COMMANDS) : command.usage());
            return INVALID;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return FAILED;
        }
    }

    private static Command command(String name) {
        for (Command command : COMMANDS) {
            if (command.name().equals(name)) {
                return command;
            }
        }
        throw new UsageException(null, "unknown command: " + name + " (expected: "
                + COMMANDS.stream().map(Command::name).collect(Collectors.joining(", ")) + ")");
    }

    private static int help(List<String> arguments, PrintStream out) {
        out.print(arguments.isEmpty() ? CommandLine.usage(COMMANDS) : command(arguments.get(0)).usage());
        return OK;
    }

    private static Path config(Command command, Parsed parsed) {
        String file = parsed.value(CONFIG.name());
        if (file == null) {
            throw new UsageException(command, command.name() + ": --config FILE is required");
        }
        return Path.of(file);
    }

    private static int check(Path file, PrintStream out, PrintStream err) {
        try {
            GatewayConfig config = ConfigLoader.load(file);
            int certificates = 0;
            for (ListenerConfig listener : config.listeners()) {
                if (listener.tls() != null) {
                    // The files as a start or a reload would read them: a renewal is checked before SIGHUP.
                    ServerTls.check(listener.name(), listener.tls());
                    certificates += listener.tls().certificates().size();
                }
            }
            out.println(file + ": ok (" + config.routes().size() + " route(s), " + config.clusters().size()
                    + " cluster(s), " + config.listeners().size() + " listener(s), " + certificates
                    + " certificate(s))");
            return OK;
        } catch (ConfigProblems e) {
            printProblems(file.toString(), e, err);
            return INVALID;
        } catch (IllegalArgumentException | IllegalStateException e) {
            err.println(file + ": " + e.getMessage());
            return INVALID;
        }
    }

    private static int doctor(Path file, Parsed parsed, PrintStream out, PrintStream err) {
        GatewayConfig config = loadOrReport(file, err);
        if (config == null) {
            return INVALID;
        }
        // --proc-root and --cgroup-root point doctor at fixture files (tests); the defaults are this host's.
        Path proc = Path.of(Objects.requireNonNullElse(parsed.value("--proc-root"), "/proc"));
        Path cgroup = Path.of(Objects.requireNonNullElse(parsed.value("--cgroup-root"), "/sys/fs/cgroup"));
        HostLimits host;
        try {
            host = HostLimits.read(proc, cgroup, Runtime.getRuntime().availableProcessors());
        } catch (IOException | RuntimeException e) {
            err.println("doctor: cannot read this host's limits under " + proc + ": " + e);
            return FAILED;
        }
        Doctor.Report report = Doctor.report(config, host);
        if (parsed.has("--json")) {
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

    private static int upgrade(Path file, PrintStream out, PrintStream err) throws InterruptedException {
        GatewayConfig config = loadOrReport(file, err);
        if (config == null) {
            return INVALID;
        }
        Path socket = config.ops().handoverSocket();
        if (socket == null) {
            err.println(file + ": handover.socket is off: there is no running gateway to upgrade through (set it, "
                    + "restart once, then upgrade)");
            return INVALID;
        }
        try {
            Message.Outcome outcome = UpgradeRequest.send(socket, config.timeouts().drain().plus(UPGRADE_MARGIN));
            (outcome.ok() ? out : err).println("upgrade: " + outcome.message());
            return outcome.ok() ? OK : FAILED;
        } catch (IOException e) {
            err.println("upgrade: " + e.getMessage());
            return FAILED;
        }
    }

    private static int serve(Path file, PrintStream err) throws InterruptedException {
        GatewayConfig config = loadOrReport(file, err);
        if (config == null) {
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
        Signals.onUpgrade(() -> {
            Service service = started.getNow(null);
            if (service != null) {
                service.upgrade();
            }
        });
        try {
            started.complete(Service.start(config, file));
        } catch (BindFailedException e) {
            err.println(file + ": " + e.getMessage());
            return FAILED;
        } catch (IllegalStateException e) {
            for (String line : e.getMessage().split("\n")) {
                err.println(file + ": " + line);
            }
            return INVALID;
        } catch (Exception e) { // anything else: one line, no stack trace
            err.println(file + ": could not start: " + e);
            return FAILED;
        } finally {
            started.complete(null); // no-op once started; after a failure, a waiting signal handler goes on
        }
        new CountDownLatch(1).await(); // serve until a signal exits the process
        return OK;
    }

    private static int echoBackend(List<String> arguments, PrintStream out) throws InterruptedException {
        String[] hostPort = arguments.get(0).split(":(?=[0-9]{1,5}$)");
        int port = hostPort.length == 2 ? Integer.parseInt(hostPort[1]) : -1;
        InetSocketAddress address = port >= 0 && port <= 65535 ? new InetSocketAddress(hostPort[0], port) : null;
        if (address == null || address.isUnresolved()) {
            throw new UsageException(ECHO_BACKEND, "echo-backend: " + arguments.get(0)
                    + " (expected: IP:PORT, an address of this host and a port 0..65535)");
        }
        String name = arguments.size() > 1 ? arguments.get(1) : arguments.get(0);
        TransportKind transport = TransportSelector.select(TransportChoice.AUTO).kind();
        EchoBackend backend = EchoBackend.start(address, name, transport, 0);
        out.println("echo backend " + name + " on " + Gateway.format(backend.address()) + " (" + transport.configName() + ")");
        Signals.onTerminate(backend::close);
        new CountDownLatch(1).await();
        return OK;
    }

    /** The config in {@code file}, or null once every problem in it is printed to {@code err} (then exit 2). */
    private static @Nullable GatewayConfig loadOrReport(Path file, PrintStream err) {
        try {
            return ConfigLoader.load(file);
        } catch (ConfigProblems e) {
            printProblems(file.toString(), e, err);
            return null;
        }
    }

    static void printProblems(String source, ConfigProblems e, PrintStream err) {
        for (ConfigProblem problem : e.problems()) {
            err.println(problem);
        }
        err.println(source + ": " + e.problems().size() + " problem(s); nothing was started");
    }
}
