package dev.fourtuple.bench.compare;

import java.net.InetSocketAddress;

/**
 * No proxy: clients go straight to the first backend (with no proxy there is nothing to balance). The baseline
 * every proxy's figures are read against.
 */
record Direct() implements Proxy {

    @Override
    public String name() {
        return "no proxy";
    }

    @Override
    public Running start(Setup setup) {
        return new Running() {
            @Override
            public InetSocketAddress address() {
                return setup.backends().get(0);
            }

            @Override
            public long pid() {
                return -1;
            }

            @Override
            public String version() {
                return "clients straight to the first echo backend";
            }

            @Override
            public void close() {
            }
        };
    }
}
