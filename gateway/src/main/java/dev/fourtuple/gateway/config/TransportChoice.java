package dev.fourtuple.gateway.config;

/** The {@code transport} setting: which I/O transport to run on. */
public enum TransportChoice implements ConfigWord {
    AUTO("auto"), EPOLL("epoll"), IO_URING("io_uring"), NIO("nio");

    private final String word;

    TransportChoice(String word) {
        this.word = word;
    }

    @Override
    public String word() {
        return word;
    }
}
