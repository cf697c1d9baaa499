/**
 * Operating the process: signals (TERM and INT drain, then exit 0). The admin server, systemd notify and
 * {@code doctor} will live here too. Start at {@link dev.fourtuple.gateway.ops.Signals}.
 */
@NullMarked
package dev.fourtuple.gateway.ops;

import org.jspecify.annotations.NullMarked;
