package dev.fourtuple.bench.compare;

import java.net.InetSocketAddress;

/** A started proxy that is one native process tree (HAProxy, nginx): nothing to settle, no JVM meters. */
record NativeProxy(ChildProcess child, InetSocketAddress address, String version) implements Proxy.Running {
    @Override
    public long pid() {
        return child.pid();
    }

    @Override
    public void close() throws Exception {
        child.close();
    }
}
