package dev.fourtuple.gateway.connection;

import io.netty.channel.EventLoop;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The client connections of one event loop, each tagged with the config version it serves under. A connection
 * holds its {@link Registration} (one small object, linked into this registry's list) from its first byte to
 * its close; adding and removing are O(1), nothing is scanned but by {@link #forEach}.
 *
 * <p>Not thread-safe by design: every method runs on {@link #loop()}.
 */
public final class ConnectionRegistry {

    /** A connection's place in the registry. */
    public static final class Registration {
        /** Null only in the list's head, which is never visited. */
        private final @Nullable ClientConnection connection;
        private Registration prev = this;
        private Registration next = this;
        private int configVersion;
        private boolean linked;

        private Registration(@Nullable ClientConnection connection, int configVersion) {
            this.connection = connection;
            this.configVersion = configVersion;
        }

        /** The config version the connection serves under. */
        public int configVersion() {
            return configVersion;
        }

        /**
         * The connection now serves under {@code version}: an HTTP connection at each new exchange, whose backend
         * that version's routes chose.
         */
        public void configVersion(int version) {
            configVersion = version;
        }
    }

    private final EventLoop loop;
    private final Registration head = new Registration(null, 0);
    private int size;

    public ConnectionRegistry(EventLoop loop) {
        this.loop = loop;
    }

    public EventLoop loop() {
        return loop;
    }

    /** Adds a connection opened (or taken over) under {@code configVersion}. */
    public Registration add(ClientConnection connection, int configVersion) {
        Registration registration = new Registration(connection, configVersion);
        registration.prev = head.prev;
        registration.next = head;
        head.prev.next = registration;
        head.prev = registration;
        registration.linked = true;
        size++;
        return registration;
    }

    /** Removes it (its connection closed, or became another: a tunnel). Safe to call twice. */
    public void remove(Registration registration) {
        if (!registration.linked) {
            return;
        }
        registration.prev.next = registration.next;
        registration.next.prev = registration.prev;
        registration.prev = registration;
        registration.next = registration;
        registration.linked = false;
        size--;
    }

    public int size() {
        return size;
    }

    /**
     * Visits every connection with its registration, over a snapshot: the action may close connections (which
     * removes them) or add new ones.
     */
    public void forEach(Visitor action) {
        List<Registration> all = new ArrayList<>(size);
        for (Registration r = head.next; r != head; r = r.next) {
            all.add(r);
        }
        for (Registration registration : all) {
            ClientConnection connection = registration.connection;
            if (registration.linked && connection != null) {
                action.visit(connection, registration.configVersion);
            }
        }
    }

    /** Visits every connection. */
    public void forEachConnection(Consumer<ClientConnection> action) {
        forEach((connection, version) -> action.accept(connection));
    }

    /** What {@link #forEach} calls with each connection. */
    @FunctionalInterface
    public interface Visitor {
        void visit(ClientConnection connection, int configVersion);
    }
}
