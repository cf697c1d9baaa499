/**
 * Upgrades without disconnecting anyone: a successor process takes over, through a Unix socket, the listening
 * sockets and then every connection that can move ({@link dev.fourtuple.gateway.connection.Departure}), as file
 * descriptors (SCM_RIGHTS) plus a JSON record of each one's state; the predecessor drains what cannot move and
 * exits. {@link dev.fourtuple.gateway.handover.Predecessor} is the old process's side,
 * {@link dev.fourtuple.gateway.handover.Takeover} the new one's, {@link dev.fourtuple.gateway.handover.Message}
 * what they say to each other.
 */
@NullMarked
package dev.fourtuple.gateway.handover;

import org.jspecify.annotations.NullMarked;
