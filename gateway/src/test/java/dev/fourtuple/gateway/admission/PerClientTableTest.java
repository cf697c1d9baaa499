package dev.fourtuple.gateway.admission;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link PerClientTable} with keys and the clock passed in. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PerClientTableTest {
    /** An arbitrary origin; a loop's clock may be anything, negative included. */
    private static final long T0 = -5_000_000_000L;
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    @Test
    void aFloodOf100000DistinctClientsKeepsTheTableAtItsSize() {
        PerClientTable table = new PerClientTable(65_536, 10, 0);

        for (long key = 0; key < 100_000; key++) {
            assertThat(table.tryAcquire(key, T0)).as("client %d", key).isNull();
            assertThat(table.release(key)).isTrue();
        }

        assertThat(table.size()).isEqualTo(65_536);
        assertThat(table.live()).isZero();
        assertThat(table.openConnections(99_999)).as("the newest are remembered").isZero();
        assertThat(table.openConnections(0)).as("the oldest idle were forgotten").isEqualTo(-1);
    }

    @Test
    void aTableFullOfLiveClientsRefusesNewOnesAndStillServesItsOwn() {
        PerClientTable table = new PerClientTable(1000, 2, 0);
        for (long key = 1; key <= 1000; key++) {
            assertThat(table.tryAcquire(key, T0)).isNull();
        }

        assertThat(table.tryAcquire(5000, T0)).isEqualTo(Resource.PER_CLIENT_TABLE_FULL);
        assertThat(table.tryAcquire(5001, T0)).isEqualTo(Resource.PER_CLIENT_TABLE_FULL);
        assertThat(table.openConnections(5000)).as("a refused client takes no entry").isEqualTo(-1);
        assertThat(table.tryAcquire(7, T0)).as("a client in the table opens its 2nd").isNull();
        assertThat(table.size()).isEqualTo(1000);
        assertThat(table.live()).isEqualTo(1000);

        assertThat(table.release(500)).isTrue(); // 500 is idle now: the only one that can go
        assertThat(table.tryAcquire(5000, T0)).isNull();
        assertThat(table.openConnections(500)).isEqualTo(-1);
        assertThat(table.openConnections(5000)).isEqualTo(1);
        assertThat(table.tryAcquire(5001, T0)).as("full of live clients again").isEqualTo(Resource.PER_CLIENT_TABLE_FULL);
    }

    @Test
    void onlyIdleClientsAreEvictedTheOneIdleLongestFirst() {
        PerClientTable table = new PerClientTable(16, 1, 0);
        for (long key = 1; key <= 16; key++) {
            table.tryAcquire(key, T0);
        }
        table.release(9);
        table.release(3);
        table.release(12); // idle since: 9, then 3, then 12

        table.tryAcquire(100, T0);
        assertThat(table.openConnections(9)).as("idle longest").isEqualTo(-1);
        assertThat(table.openConnections(3)).isZero();

        table.tryAcquire(101, T0);
        table.tryAcquire(102, T0);
        assertThat(table.openConnections(3)).isEqualTo(-1);
        assertThat(table.openConnections(12)).isEqualTo(-1);
        for (long key = 1; key <= 16; key++) {
            if (key != 9 && key != 3 && key != 12) {
                assertThat(table.openConnections(key)).as("live client %d kept", key).isEqualTo(1);
                assertThat(table.tryAcquire(key, T0)).as("and its count with it")
                        .isEqualTo(Resource.PER_CLIENT_CONNECTIONS);
            }
        }
        assertThat(table.tryAcquire(103, T0)).isEqualTo(Resource.PER_CLIENT_TABLE_FULL);
    }

    @Test
    void aClientThatTriesAgainIsTheLastIdleOneToBeForgotten() {
        PerClientTable table = new PerClientTable(16, 0, 1);
        for (long key = 1; key <= 16; key++) {
            table.tryAcquire(key, T0);
            table.release(key); // idle in the order 1..16, each bucket empty
        }

        assertThat(table.tryAcquire(1, T0)).isEqualTo(Resource.PER_CLIENT_RATE);
        table.tryAcquire(100, T0);

        assertThat(table.openConnections(1)).as("its attempt made it the most recent").isZero();
        assertThat(table.openConnections(2)).isEqualTo(-1);
        assertThat(table.tryAcquire(1, T0)).as("and its empty bucket is remembered").isEqualTo(Resource.PER_CLIENT_RATE);
    }

    @Test
    void maxConnectionsPerClientCountsOpenConnections() {
        PerClientTable table = new PerClientTable(64, 2, 0);

        assertThat(table.tryAcquire(1, T0)).isNull();
        assertThat(table.tryAcquire(1, T0)).isNull();
        assertThat(table.tryAcquire(1, T0)).isEqualTo(Resource.PER_CLIENT_CONNECTIONS);
        assertThat(table.tryAcquire(2, T0)).as("another client").isNull();
        assertThat(table.openConnections(1)).isEqualTo(2);

        table.release(1);

        assertThat(table.tryAcquire(1, T0)).isNull();
        assertThat(table.live()).isEqualTo(2);
    }

    @Test
    void eachClientHasItsOwnRateBucketOfOneSecondsWorth() {
        PerClientTable table = new PerClientTable(64, 0, 4); // 4 at once, then one every 250 ms

        for (int i = 0; i < 4; i++) {
            assertThat(table.tryAcquire(1, T0)).as("token %d of the burst", i + 1).isNull();
        }
        assertThat(table.tryAcquire(1, T0)).isEqualTo(Resource.PER_CLIENT_RATE);
        for (int i = 0; i < 4; i++) {
            assertThat(table.tryAcquire(2, T0)).as("client 2 has a bucket of its own").isNull();
        }
        assertThat(table.tryAcquire(1, T0 + 250 * MS - 1)).isEqualTo(Resource.PER_CLIENT_RATE);
        assertThat(table.tryAcquire(1, T0 + 250 * MS)).isNull();
        assertThat(table.tryAcquire(1, T0 + 250 * MS)).isEqualTo(Resource.PER_CLIENT_RATE);

        // Idle for an hour: still no more than a burst.
        long later = T0 + TimeUnit.HOURS.toNanos(1);
        int admitted = 0;
        while (table.tryAcquire(1, later) == null && admitted < 100) {
            admitted++;
        }
        assertThat(admitted).isEqualTo(4);
        assertThat(table.openConnections(1)).as("rate-refused attempts open nothing").isEqualTo(4 + 1 + 4);
    }

    @Test
    void bothLimitsApplyTheConnectionCapFirst() {
        PerClientTable table = new PerClientTable(64, 1, 1);

        assertThat(table.tryAcquire(1, T0)).isNull();
        assertThat(table.tryAcquire(1, T0 + 2000 * MS)).as("a token is there, the cap is not")
                .isEqualTo(Resource.PER_CLIENT_CONNECTIONS);
        table.release(1);
        assertThat(table.tryAcquire(1, T0 + 2000 * MS)).as("the token was not taken by the refusal").isNull();
    }

    @Test
    void newLimitsApplyToNewConnectionsAndOpenOnesStayCounted() {
        PerClientTable table = new PerClientTable(64, 3, 0);
        table.tryAcquire(1, T0);
        table.tryAcquire(1, T0);
        table.tryAcquire(1, T0);

        table.limits(1, 0);

        assertThat(table.openConnections(1)).isEqualTo(3);
        assertThat(table.tryAcquire(1, T0)).isEqualTo(Resource.PER_CLIENT_CONNECTIONS);
        table.release(1);
        table.release(1);
        assertThat(table.tryAcquire(1, T0)).as("2 open, 1 allowed").isEqualTo(Resource.PER_CLIENT_CONNECTIONS);
        table.release(1);
        assertThat(table.tryAcquire(1, T0)).isNull();

        table.limits(0, 0);
        for (int i = 0; i < 1000; i++) {
            assertThat(table.tryAcquire(1, T0)).isNull();
        }
    }

    @Test
    void aReleaseOfAnUnknownKeyOrOneTooManyIsIgnored() {
        PerClientTable table = new PerClientTable(64, 1, 0);

        assertThat(table.release(42)).isFalse();
        assertThat(table.size()).isZero();

        table.tryAcquire(7, T0);
        assertThat(table.release(7)).isTrue();
        assertThat(table.release(7)).isFalse();
        assertThat(table.openConnections(7)).isZero();
        assertThat(table.live()).isZero();
        assertThat(table.tryAcquire(7, T0)).isNull();
        assertThat(table.tryAcquire(7, T0)).as("the extra release gave no extra room")
                .isEqualTo(Resource.PER_CLIENT_CONNECTIONS);
    }

    @Test
    void everyKeyStaysItsOwnThroughEvictionsAndShifts() {
        // A full table of 16 in 32 cells has probe runs; seed 0 gives the same layout on every run.
        PerClientTable table = new PerClientTable(16, 1, 0, 0L);
        for (long key = 0; key < 16; key++) {
            table.tryAcquire(key, T0);
        }
        for (long key = 0; key < 16; key += 2) {
            table.release(key);
        }
        for (long key = 100; key < 108; key++) {
            assertThat(table.tryAcquire(key, T0)).isNull();
        }
        for (long key = 1; key < 16; key += 2) {
            assertThat(table.openConnections(key)).as("live key %d", key).isEqualTo(1);
        }
        for (long key = 100; key < 108; key++) {
            assertThat(table.openConnections(key)).isEqualTo(1);
        }
        for (long key = 0; key < 16; key += 2) {
            assertThat(table.openConnections(key)).isEqualTo(-1);
        }
    }

    /**
     * Accepts and closes from several loops at once: each thread releases only what it acquired, and counts
     * each key's connections it holds in a shared array (raised after a successful acquire, lowered before the
     * release, so it never exceeds the table's own count): no key ever goes past its max, and at the end every
     * count is back to zero.
     */
    @Test
    void acquiresAndReleasesFromSeveralThreadsKeepTheCountsExact() throws Exception {
        int max = 3;
        int keys = 512; // twice the table: evictions and table-full refusals happen too
        PerClientTable table = new PerClientTable(256, max, 0);
        AtomicIntegerArray held = new AtomicIntegerArray(keys);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Integer>> workers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                long seed = t;
                workers.add(pool.submit(() -> {
                    SplittableRandom random = new SplittableRandom(seed);
                    List<Integer> mine = new ArrayList<>();
                    int admitted = 0;
                    for (int op = 0; op < 50_000; op++) {
                        if (!mine.isEmpty() && random.nextInt(2) == 0) {
                            int key = mine.remove(random.nextInt(mine.size()));
                            held.decrementAndGet(key);
                            assertThat(table.release(key)).isTrue();
                        } else {
                            int key = random.nextInt(keys);
                            if (table.tryAcquire(key, T0) == null) {
                                assertThat(held.incrementAndGet(key)).as("key %d", key).isLessThanOrEqualTo(max);
                                mine.add(key);
                                admitted++;
                            }
                        }
                    }
                    for (int key : mine) {
                        held.decrementAndGet(key);
                        assertThat(table.release(key)).isTrue();
                    }
                    return admitted;
                }));
            }
            for (Future<Integer> worker : workers) {
                assertThat(worker.get(20, TimeUnit.SECONDS)).isPositive();
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(table.live()).isZero();
        for (int key = 0; key < keys; key++) {
            assertThat(table.openConnections(key)).as("key %d", key).isLessThanOrEqualTo(0);
        }
    }

    /**
     * Against a plain model (a map in LRU order): random acquires and releases over a key space a few times the
     * table, so that lookups, inserts, evictions and backward-shift removals all run many times, with several
     * seeds and a table small enough for its probe runs to wrap around the index.
     */
    @Test
    void matchesAModelUnderRandomOperations() {
        SplittableRandom random = new SplittableRandom(11);
        for (int round = 0; round < 20; round++) {
            int capacity = 16 + random.nextInt(100);
            int max = 1 + random.nextInt(3);
            PerClientTable table = new PerClientTable(capacity, max, 0, random.nextLong());
            Model model = new Model(capacity, max);
            List<Long> universe = new ArrayList<>();
            for (int i = 0; i < capacity * 3; i++) {
                universe.add(random.nextLong());
            }
            for (int op = 0; op < 20_000; op++) {
                long key = universe.get(random.nextInt(universe.size()));
                if (random.nextInt(3) == 0) {
                    assertThat(table.release(key)).as("release %d", key).isEqualTo(model.release(key));
                } else {
                    assertThat(table.tryAcquire(key, T0)).as("acquire %d", key).isEqualTo(model.acquire(key));
                }
                assertThat(table.size()).isEqualTo(model.open.size());
            }
            for (long key : universe) {
                Integer open = model.open.get(key);
                assertThat(table.openConnections(key)).as("key %d", key).isEqualTo(open == null ? -1 : open);
            }
            assertThat(table.live()).isEqualTo((int) model.open.values().stream().filter(n -> n > 0).count());
        }
    }

    /** What the table must do, written the obvious way. */
    private static final class Model {
        final int capacity;
        final int max;
        final Map<Long, Integer> open = new HashMap<>();
        /** Idle keys, the one idle longest first. */
        final LinkedHashMap<Long, Boolean> idle = new LinkedHashMap<>();

        Model(int capacity, int max) {
            this.capacity = capacity;
            this.max = max;
        }

        Resource acquire(long key) {
            Integer n = open.get(key);
            if (n == null) {
                if (open.size() == capacity) {
                    if (idle.isEmpty()) {
                        return Resource.PER_CLIENT_TABLE_FULL;
                    }
                    long oldest = idle.keySet().iterator().next();
                    idle.remove(oldest);
                    open.remove(oldest);
                }
                open.put(key, 1);
                return null;
            }
            if (n >= max) {
                return Resource.PER_CLIENT_CONNECTIONS;
            }
            idle.remove(key);
            open.put(key, n + 1);
            return null;
        }

        boolean release(long key) {
            Integer n = open.get(key);
            if (n == null || n == 0) {
                return false;
            }
            open.put(key, n - 1);
            if (n == 1) {
                idle.put(key, true);
            }
            return true;
        }
    }
}
