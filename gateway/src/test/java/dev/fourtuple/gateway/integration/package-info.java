/**
 * Integration tests: a real gateway on loopback, port 0, in front of real echo backends, driven by real
 * clients, each class run over every transport (NIO, epoll, io_uring).
 */
@NullMarked
package dev.fourtuple.gateway.integration;

import org.jspecify.annotations.NullMarked;
