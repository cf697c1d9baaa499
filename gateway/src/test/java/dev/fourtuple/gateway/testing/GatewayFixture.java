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
 * addresses as a HOCON list. The gateway runs two event loops of the requested transport.
 */
public final class GatewayFixture implements AutoCloseable {
    private final List<EchoBackend> backends;
    private final Gateway gateway;
    private final SimpleMeterRegistry registry;

    private GatewayFixture(List<EchoBackend> backends, Gateway gateway, SimpleMeterRegistry registry) {
        this.backends = backends;
        this.gateway = gateway;
        this.registry = registry;
    }

    /** {@code backendCount} echo backends and a gateway whose config is {@code config(backends)}. */
    public static GatewayFixture start(TransportKind transport, int backendCount,
            Function<List<EchoBackend>, String> config) throws Exception {
        return start(transport, backendCount, config, "listen = \"127.0.0.1:0\"\n");
    }

    /**
     * Like {@link #start(TransportKind, int, Function)}, but the config names its own listeners (the function's
     * text has {@code listeners = [ ... ]}).
     */
    public static GatewayFixture withListeners(TransportKind transport, int backendCount,
            Function<List<EchoBackend>, String> config) throws Exception {
        return start(transport, backendCount, config, "");
    }

    private static GatewayFixture start(TransportKind transport, int backendCount,
            Function<List<EchoBackend>, String> config, String listen) throws Exception {
        List<EchoBackend> backends = new ArrayList<>();
        try {
            for (int i = 0; i < backendCount; i++) {
                backends.add(EchoBackend.start(new InetSocketAddress("127.0.0.1", 0), "b" + i, transport, 1));
            }
            String text = listen
                    + "transport = " + transport.configName() + "\n"
                    + "event-loops = 2\n"
                    + config.apply(backends);
            GatewayConfig parsed = parse(text);
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            return new GatewayFixture(backends, Gateway.start(parsed, registry), registry);
        } catch (Exception | Error e) {
            backends.forEach(EchoBackend::close);
            throw e;
        }
    }

    /** One cluster {@code echo} of all backends, one catch-all route, plus {@code extra} settings. */
    public static GatewayFixture simple(TransportKind transport, int backendCount, String extra) throws Exception {
        return start(transport, backendCount, backends -> extra + "\n"
                + "clusters { echo { backends = " + backendList(backends) + " } }\n"
                + "routes = [ { path-prefix = \"/\", cluster = echo } ]\n");
    }

    /**
     * A gateway in front of one {@link RecordingBackend}: cluster {@code app} of that backend, one catch-all
     * route, plus {@code extra} settings.
     */
    public static GatewayFixture inFrontOf(TransportKind transport, RecordingBackend backend, String extra)
            throws Exception {
        return start(transport, 0, none -> extra + "\n"
                + "clusters { app { backends = [\"" + backend.hostPort() + "\"] } }\n"
                + "routes = [ { cluster = app } ]\n");
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

    public URI http(String pathAndQuery) {
        return URI.create("http://" + address(gateway.address()) + pathAndQuery);
    }

    public URI ws(String path) {
        return URI.create("ws://" + address(gateway.address()) + path);
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
