package dev.fourtuple.gateway.handover;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * What a predecessor (P), its successor (S) and the {@code upgrade} command (U) say over the handover socket, one
 * JSON object per length-prefixed frame. Sockets travel on a second connection of S's, read in
 * FILE_DESCRIPTORS mode, in the order of the messages that announce them.
 *
 * <pre>
 *   S→P Hello(listeners)          P→S Welcome | Refused(reason)
 *   S→P Sockets        (on the second connection: it is the one sockets go down)
 *   P→S Listener(name, n) × each listener, with n sockets each
 *   S→P Accepting      (S serves on them; P stops accepting)
 *   P→S Connection(id, kind, n, state) × each connection that can move, with n sockets each
 *   S→P Taken(id, ok)  × each
 *   P→S Done(moved, left)   (P drains what is left and exits)
 *   U→P Upgrade        P→U Outcome(ok, message) once the successor took over or failed
 * </pre>
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
        @JsonSubTypes.Type(value = Message.Hello.class, name = "hello"),
        @JsonSubTypes.Type(value = Message.Welcome.class, name = "welcome"),
        @JsonSubTypes.Type(value = Message.Refused.class, name = "refused"),
        @JsonSubTypes.Type(value = Message.Sockets.class, name = "sockets"),
        @JsonSubTypes.Type(value = Message.Listener.class, name = "listener"),
        @JsonSubTypes.Type(value = Message.Accepting.class, name = "accepting"),
        @JsonSubTypes.Type(value = Message.Connection.class, name = "connection"),
        @JsonSubTypes.Type(value = Message.Taken.class, name = "taken"),
        @JsonSubTypes.Type(value = Message.Done.class, name = "done"),
        @JsonSubTypes.Type(value = Message.Upgrade.class, name = "upgrade"),
        @JsonSubTypes.Type(value = Message.Outcome.class, name = "outcome")})
public sealed interface Message {

    /** How many sockets follow this message on the sockets connection. */
    default int sockets() {
        return 0;
    }

    /** S's pid and its listeners as {@code name@address[/tls]}, which must be P's. */
    record Hello(long pid, List<String> listeners) implements Message {
    }

    record Welcome(long pid) implements Message {
    }

    record Refused(String reason) implements Message {
    }

    record Sockets() implements Message {
    }

    /** The listening sockets of one listener follow. */
    record Listener(String name, int count) implements Message {
        @Override
        public int sockets() {
            return count;
        }
    }

    record Accepting() implements Message {
    }

    /** A connection moving: {@code count} sockets follow (client's first), {@code state} its kind's record. */
    record Connection(long id, String kind, int count, JsonNode state) implements Message {
        @Override
        public int sockets() {
            return count;
        }
    }

    record Taken(long id, boolean ok) implements Message {
    }

    /** Nothing more moves: {@code left} connections stay with P, which drains them. */
    record Done(long moved, long left) implements Message {
    }

    record Upgrade() implements Message {
    }

    record Outcome(boolean ok, String message) implements Message {
    }
}
