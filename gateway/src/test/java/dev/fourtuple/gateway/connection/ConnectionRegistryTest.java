package dev.fourtuple.gateway.connection;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.Channel;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.LinkedHashMap;
import org.junit.jupiter.api.Test;

class ConnectionRegistryTest {
    private final ConnectionRegistry registry = new ConnectionRegistry(new EmbeddedChannel().eventLoop());

    @Test
    void visitsEachConnectionWithTheVersionItServesUnder() {
        Named a = new Named("a");
        Named b = new Named("b");
        Named c = new Named("c");
        registry.add(a, 1);
        ConnectionRegistry.Registration rb = registry.add(b, 1);
        registry.add(c, 2);
        rb.configVersion(3);

        Map<String, Integer> seen = new LinkedHashMap<>();
        registry.forEach((connection, version) -> seen.put(((Named) connection).name, version));

        assertThat(seen).containsExactly(Map.entry("a", 1), Map.entry("b", 3), Map.entry("c", 2));
        assertThat(registry.size()).isEqualTo(3);
    }

    @Test
    void aRemovedConnectionIsNotVisitedAndASecondRemoveChangesNothing() {
        Named a = new Named("a");
        Named b = new Named("b");
        ConnectionRegistry.Registration ra = registry.add(a, 1);
        registry.add(b, 1);

        registry.remove(ra);
        registry.remove(ra);

        List<ClientConnection> seen = new ArrayList<>();
        registry.forEachConnection(seen::add);
        assertThat(seen).containsExactly(b);
        assertThat(registry.size()).isEqualTo(1);
    }

    @Test
    void aConnectionRemovedByAnEarlierVisitIsSkippedAndOnesAddedMeanwhileWaitForTheNextVisit() {
        Named a = new Named("a");
        Named b = new Named("b");
        registry.add(a, 1);
        ConnectionRegistry.Registration rb = registry.add(b, 1);
        List<String> seen = new ArrayList<>();

        registry.forEachConnection(connection -> {
            seen.add(((Named) connection).name);
            if (connection == a) {
                registry.remove(rb); // a close while visiting (a tunnel ending both its sides)
                registry.add(new Named("late"), 2);
            }
        });

        assertThat(seen).containsExactly("a");
        List<String> next = new ArrayList<>();
        registry.forEachConnection(connection -> next.add(((Named) connection).name));
        assertThat(next).containsExactly("a", "late");
    }

    private record Named(String name) implements ClientConnection {
        @Override
        public boolean uses(Set<InetSocketAddress> backends) {
            return false;
        }

        @Override
        public void cutForRemovedBackend() {
        }

        @Override
        public void drain(long closeAtNanos, int closeCode) {
        }

        @Override
        public List<Channel> channels() {
            return List.of();
        }
    }
}
