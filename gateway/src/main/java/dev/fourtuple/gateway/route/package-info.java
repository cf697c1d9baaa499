/**
 * Routing: which cluster serves a request, by Host and path prefix. Start at
 * {@link dev.fourtuple.gateway.route.Router}.
 */
@NullMarked
package dev.fourtuple.gateway.route;

import org.jspecify.annotations.NullMarked;
