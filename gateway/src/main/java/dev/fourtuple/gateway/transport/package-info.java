/**
 * I/O transport: which of io_uring, epoll and NIO runs the event loops, and the loops themselves.
 *
 * <p>Start at {@link dev.fourtuple.gateway.transport.TransportSelector} (the choice and why) and
 * {@link dev.fourtuple.gateway.transport.EventLoops} (the loops, and {@link dev.fourtuple.gateway.transport.PerLoop}
 * state that lives on exactly one of them).
 */
@NullMarked
package dev.fourtuple.gateway.transport;

import org.jspecify.annotations.NullMarked;
