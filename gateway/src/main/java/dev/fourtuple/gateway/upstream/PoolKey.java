package dev.fourtuple.gateway.upstream;

import java.net.InetSocketAddress;
import org.jspecify.annotations.Nullable;

/**
 * What an idle pooled connection is fit for: its backend address and the TLS context it was made with (by
 * identity; null = plaintext). Two clusters that share a backend address but not their TLS settings (another
 * server name, another CA, one of them plaintext) never take each other's connections.
 */
record PoolKey(InetSocketAddress address, @Nullable BackendTls tls) {
}
