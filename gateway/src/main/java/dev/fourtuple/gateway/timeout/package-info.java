/**
 * Timeouts without a timer task per connection: one {@link dev.fourtuple.gateway.timeout.TimerWheel} per event
 * loop, one periodic tick per wheel, and an intrusive entry per connection that costs no allocation to move.
 */
@NullMarked
package dev.fourtuple.gateway.timeout;

import org.jspecify.annotations.NullMarked;
