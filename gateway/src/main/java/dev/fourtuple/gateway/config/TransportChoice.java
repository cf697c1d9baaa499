package dev.fourtuple.gateway.config;

/** The {@code transport} setting: which I/O transport to run on. */
public enum TransportChoice {
    AUTO, EPOLL, IO_URING, NIO
}
