/**
 * Admission control: at its limits the gateway refuses new connections cheaply, and what it admitted keeps
 * working. Headroom monitors (fds, heap after GC, direct memory, kernel TCP memory, cgroup memory, an optional
 * connection cap) feed a state machine with hysteresis; per-client limits (open connections and connect rate
 * per client address) keep one client from taking it all; refusals happen on the listening socket, before a
 * connection costs more than its fd.
 *
 * <p>Start at {@link dev.fourtuple.gateway.admission.AdmissionController} (decide and refresh),
 * {@link dev.fourtuple.gateway.admission.AdmissionAcceptHandler} (the listening socket's handler, the one
 * owner of its autoRead), {@link dev.fourtuple.gateway.admission.PerClientTable} (the bounded table of
 * clients) and {@link dev.fourtuple.gateway.admission.RefusalHandler} (what a refused client gets).
 */
@NullMarked
package dev.fourtuple.gateway.admission;

import org.jspecify.annotations.NullMarked;
