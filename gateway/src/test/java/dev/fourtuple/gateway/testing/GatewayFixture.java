package dev.fourtuple.gateway.testing;

import dev.fourtuple.gateway.Gateway;
import dev.fourtuple.gateway.config.ConfigLoader;
import dev.fourtuple.gateway.config.ConfigProblems;
import dev.fourtuple.gateway.config.GatewayConfig;
import dev.fourtuple.gateway.demo.EchoBackend;
import dev.fourtuple.gateway.transport.TransportKind;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * A real gateway on 127.0.0.1:0 in front of real echo backends on 127.0.0.1:0, for integration tests.
 *
 * <p>The config text is made by a function of the backends' addresses; {@link #backendList} renders
 * addresses as a HOCON list. The gateway runs two event loops of the requested transport, and one listener of
 * the requested {@link ListenerKind}: plaintext ({@code listen}), or TLS ({@code listeners = [ { tls { } } ]}
 * with {@link TestTls}'s certificate for {@code localhost}), whose URIs then name {@code https://localhost:PORT}
 * so that clients check the certificate and host name as they would anywhere.
 */
public final class GatewayFixture implements AutoCloseable {
    private final List<EchoBackend> backends;
    private final Gateway gateway;
    private final SimpleMeterRegistry registry;
    private final ListenerKind listener;
    private final String configText;

    private GatewayFixture(List<EchoBackend> backends, Gateway gateway, SimpleMeterRegistry registry,
            ListenerKind listener, String configText) {
        this.backends = backends;
        this.gateway = gateway;
        this.registry = registry;
        this.listener = listener;
        this.configText = configText;
    }

    /** {@code backendCount} echo backends and a gateway whose config is {@code config(backends)}. */
    public static GatewayFixture start(TransportKind transport, int backendCount,
            Function<List<EchoBackend>, String> config) throws Exception {
        return start(transport, ListenerKind.PLAIN, backendCount, config);
    }

    /** As {@link #start(TransportKind, int, Function)}, the gateway's one listener of the given kind. */
    public static GatewayFixture start(TransportKind transport, ListenerKind listener, int backendCount,
            Function<List<EchoBackend>, String> config) throws Exception {
        return withListeners(transport, listener, listenerConfig(listener), backendCount, config);
    }

    /**
     * Like {@link #start(TransportKind, int, Function)}, but the config names its own listeners (the function's
     * text has {@code listeners = [ ... ]}); {@link #http} and {@link #ws} then name the first as plaintext.
     */
    public static GatewayFixture withListeners(TransportKind transport, int backendCount,
            Function<List<EchoBackend>, String> config) throws Exception {
        return withListeners(transport, ListenerKind.PLAIN, "", backendCount, config);
    }

    /**
     * As {@link #start(TransportKind, int, Function)} with the listener settings written out by the test
     * ({@code listeners = [ ... ]}); {@code uriKind} is the kind of the first listener, which {@link #http} and
     * {@link #ws} name.
     */
    public static GatewayFixture withListeners(TransportKind transport, ListenerKind uriKind, String listeners,
            int backendCount, Function<List<EchoBackend>, String> config) throws Exception {
        List<EchoBackend> backends = new ArrayList<>();
        try {
            for (int i = 0; i < backendCount; i++) {
                backends.add(EchoBackend.start(new InetSocketAddress("127.0.0.1", 0), "b" + i, transport, 1));
            }
            String text = (listeners.isEmpty() ? "" : listeners + "\n")
                    + "transport = " + transport.configName() + "\n"
                    + "event-loops = 2\n"
                    + config.apply(backends);
            GatewayConfig parsed = parse(text);
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            return new GatewayFixture(backends, Gateway.start(parsed, registry), registry, uriKind, text);
        } catch (Exception | Error e) {
            backends.forEach(EchoBackend::close);
            throw e;
        }
    }

    /** One cluster {@code echo} of all backends, one catch-all route, plus {@code extra} settings. */
    public static GatewayFixture simple(TransportKind transport, int backendCount, String extra) throws Exception {
        return simple(transport, ListenerKind.PLAIN, backendCount, extra);
    }

    /** As {@link #simple(TransportKind, int, String)}, the gateway's one listener of the given kind. */
    public static GatewayFixture simple(TransportKind transport, ListenerKind listener, int backendCount,
            String extra) throws Exception {
        return start(transport, listener, backendCount, backends -> extra + "\n"
                + "clusters { echo { backends = " + backendList(backends) + " } }\n"
                + "routes = [ { path-prefix = \"/\", cluster = echo } ]\n");
    }

    /**
     * A gateway in front of one {@link RecordingBackend}: cluster {@code app} of that backend, one catch-all
     * route, plus {@code extra} settings.
     */
    public static GatewayFixture inFrontOf(TransportKind transport, RecordingBackend backend, String extra)
            throws Exception {
        return inFrontOf(transport, ListenerKind.PLAIN, backend, extra);
    }

    /** As {@link #inFrontOf(TransportKind, RecordingBackend, String)}, the listener of the given kind. */
    public static GatewayFixture inFrontOf(TransportKind transport, ListenerKind listener, RecordingBackend backend,
            String extra) throws Exception {
        return start(transport, listener, 0, none -> extra + "\n"
                + "clusters { app { backends = [\"" + backend.hostPort() + "\"] } }\n"
                + "routes = [ { cluster = app } ]\n");
    }

    /** The config text the gateway was started with. */
    public String configText() {
        return configText;
    }

    /** Reloads {@code text} (validated first), in process, as a SIGHUP would reload the file. */
    public Gateway.Reload reload(String text) {
        return gateway.reload(parse(text));
    }

    public static String backendList(List<EchoBackend> backends) {
        StringBuilder list = new StringBuilder("[");
        for (EchoBackend backend : backends) {
            if (list.length() > 1) {
                list.append(", ");
            }
            list.append('"').append(address(backend.address())).append('"');
        }
        return list.append(']').toString();
    }

    /** The one listener: top-level {@code listen}, or a TLS listener named {@code tls}. */
    private static String listenerConfig(ListenerKind listener) {
        return switch (listener) {
            case PLAIN -> "listen = \"127.0.0.1:0\"\n";
            case TLS -> "listeners = [ { name = tls, listen = \"127.0.0.1:0\", " + TestTls.tlsBlock("") + " } ]\n";
        };
    }

    private static GatewayConfig parse(String text) {
        try {
            return ConfigLoader.parse(text, "test");
        } catch (ConfigProblems e) {
            throw new IllegalArgumentException("test config invalid:\n" + e.getMessage() + "\n---\n" + text, e);
        }
    }

    public Gateway gateway() {
        return gateway;
    }

    public SimpleMeterRegistry registry() {
        return registry;
    }

    public EchoBackend backend(int index) {
        return backends.get(index);
    }

    public InetSocketAddress address() {
        return gateway.address();
    }

    public ListenerKind listenerKind() {
        return listener;
    }

    /**
     * HOST:PORT of the listener as the fixture's URIs name it (and clients send it as Host): 127.0.0.1:PORT, or
     * localhost:PORT for TLS (the name in the certificate).
     */
    public String authority() {
        return listener == ListenerKind.TLS ? TestTls.HOST + ":" + gateway.address().getPort()
                : address(gateway.address());
    }

    /** http://127.0.0.1:PORT/... or https://localhost:PORT/... */
    public URI http(String pathAndQuery) {
        return URI.create(listener.httpScheme() + "://" + authority() + pathAndQuery);
    }

    /** ws://127.0.0.1:PORT/... or wss://localhost:PORT/... */
    public URI ws(String path) {
        return URI.create(listener.wsScheme() + "://" + authority() + path);
    }

    /** A raw connection to the listener: a plain socket, or a TLS socket whose handshake is done. */
    public RawHttp raw(int readTimeoutMillis) throws java.io.IOException {
        return listener == ListenerKind.TLS
                ? RawHttp.connectTls(gateway.address(), TestTls.clientContext(), TestTls.HOST, readTimeoutMillis)
                : RawHttp.connect(gateway.address(), readTimeoutMillis);
    }

    private static String address(InetSocketAddress address) {
        return address.getAddress().getHostAddress() + ":" + address.getPort();
    }

    @Override
    public void close() {
        gateway.close();
        backends.forEach(EchoBackend::close);
    }
}
