package dev.fourtuple.gateway.connection;

import io.netty.channel.Channel;
import java.util.List;

/**
 * A connection on its way to a successor process: quiet (nothing more is read or written here) and off its
 * loop, its sockets still open here until the successor has them. Made by {@link ClientConnection#depart}.
 */
public interface Departure {

    /** What kind of connection it is, so the successor knows how to resume it: {@code state()}'s type. */
    String kind();

    /** The channels whose sockets go, in the order the successor receives them. */
    List<Channel> channels();

    /** What the successor needs to resume it where it stopped (a record: the wire carries it as JSON). */
    Object state();

    /** The successor has it: let go here quietly, nothing sent to either peer. Any thread. */
    void arrived();

    /** The successor could not take it: it ends here (a close, as if its peer had gone). Any thread. */
    void lost();
}
