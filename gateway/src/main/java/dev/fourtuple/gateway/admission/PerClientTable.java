package dev.fourtuple.gateway.admission;

import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;

/**
 * The clients that the per-client limits count, by {@link PerClientKey key}: for each, its open connections
 * and its connect-rate bucket, in a table of fixed size. It never grows: a flood of new addresses costs no
 * memory, and each accept and each close is O(1) with nothing allocated.
 *
 * <p>Layout: entries live in slots {@code 0..capacity-1} of parallel primitive arrays (key, open
 * connections, the time at which the rate bucket would be empty, two links of the idle list). An
 * open-addressing index maps a key to its slot: linear probing over at least twice as many cells as slots
 * (so it is at most half full and a probe is short), removal by backward shift (no tombstones to pile up).
 * Keys are hashed with a seed drawn at start, so a client cannot pick addresses that collide.
 *
 * <p>Eviction: an entry with no open connection is on the idle list, least recently used first (used: its
 * last connection closed, or it last tried to connect). A new key takes a free slot while there is one, then
 * the slot of the entry idle longest. An entry with an open connection is never evicted: its count must meet
 * its release. When every entry has one, a new key is refused ({@link Resource#PER_CLIENT_TABLE_FULL}).
 *
 * <p>Each successful {@link #tryAcquire} must be paired with one {@link #release} of the same key; a release
 * of a key with nothing open is ignored.
 *
 * <p>Concurrency note: one table serves every listening socket, so accepts and closes from several event loops
 * meet here. Every method holds the table's monitor for O(1) work on arrays (no allocation, no callback, no
 * I/O): tens of nanoseconds, uncontended in the common case, so a plain lock costs less than the care a
 * lock-free table with eviction would need. The gauges read {@link #size} and {@link #live} under the same lock.
 */
final class PerClientTable {
    private static final int NONE = -1;

    private final int capacity;
    private final long seed;
    /** Slot + 1 per cell; 0 = an empty cell. */
    private final int[] index;
    private final int mask;
    private final long[] keys;
    private final int[] open;
    /** The time at which the slot's bucket would be empty: tokens = (now - emptyAt) / nanosPerToken. */
    private final long[] emptyAt;
    /** The idle list's links: towards the entry idle longest, and towards the one idle least long. */
    private final int[] older;
    private final int[] newer;
    private int idleOldest = NONE;
    private int idleNewest = NONE;
    /** Slots handed out so far; a slot in use is only ever reused, for another key, never freed. */
    private int size;
    /** Entries with at least one open connection. */
    private int live;
    private int maxConnections;
    /** 0 = no connect-rate. */
    private long nanosPerToken;
    private long burstNanos;

    /**
     * @param maxConnections open connections per key at most; 0 = no limit
     * @param connectRate    new connections per second per key at most (a burst of one second's worth); 0 = off
     */
    PerClientTable(int capacity, int maxConnections, int connectRate) {
        this(capacity, maxConnections, connectRate, ThreadLocalRandom.current().nextLong());
    }

    /** With a chosen hash seed (tests). */
    PerClientTable(int capacity, int maxConnections, int connectRate, long seed) {
        if (capacity < 1 || capacity > 1 << 28) {
            throw new IllegalArgumentException("capacity: " + capacity + " (expected: 1..268435456)");
        }
        this.capacity = capacity;
        this.seed = seed;
        int cells = Integer.highestOneBit(Math.max(2, 2 * capacity - 1)) << 1; // a power of two >= 2 x capacity
        this.index = new int[cells];
        this.mask = cells - 1;
        this.keys = new long[capacity];
        this.open = new int[capacity];
        this.emptyAt = new long[capacity];
        this.older = new int[capacity];
        this.newer = new int[capacity];
        limits(maxConnections, connectRate);
    }

    /** New limits (a reload): they apply from the next acquire; open connections are not touched. */
    synchronized void limits(int maxConnections, int connectRate) {
        if (maxConnections < 0 || connectRate < 0 || connectRate > 1_000_000_000) {
            throw new IllegalArgumentException("maxConnections: " + maxConnections + ", connectRate: " + connectRate
                    + " (expected: 0 or more, and a rate of at most 1000000000)");
        }
        this.maxConnections = maxConnections;
        this.nanosPerToken = connectRate == 0 ? 0 : 1_000_000_000L / connectRate;
        this.burstNanos = nanosPerToken * connectRate;
    }

    /**
     * One more connection of {@code key} at {@code nowNanos} (any monotonic clock, the same for every call):
     * null if it is admitted (and counted until {@link #release}), else why not.
     */
    synchronized @Nullable Resource tryAcquire(long key, long nowNanos) {
        int cell = find(key);
        if (cell != NONE) {
            int slot = index[cell] - 1;
            if (maxConnections > 0 && open[slot] >= maxConnections) {
                return Resource.PER_CLIENT_CONNECTIONS; // it has connections open: not on the idle list
            }
            if (nanosPerToken > 0 && !takeToken(slot, nowNanos)) {
                if (open[slot] == 0) {
                    unlinkIdle(slot); // it tried just now: the last to be forgotten
                    linkIdle(slot);
                }
                return Resource.PER_CLIENT_RATE;
            }
            if (open[slot]++ == 0) {
                unlinkIdle(slot);
                live++;
            }
            return null;
        }
        int slot = freeSlot();
        if (slot == NONE) {
            return Resource.PER_CLIENT_TABLE_FULL;
        }
        keys[slot] = key;
        insert(key, slot);
        emptyAt[slot] = nowNanos - burstNanos; // a full bucket
        if (nanosPerToken > 0) {
            takeToken(slot, nowNanos); // the first of a full bucket: always there
        }
        open[slot] = 1;
        live++;
        return null;
    }

    /**
     * A connection of {@code key} closed. Returns false, and changes nothing, for a key with no connection
     * open (unknown, or released once too often).
     */
    synchronized boolean release(long key) {
        int cell = find(key);
        if (cell == NONE) {
            return false;
        }
        int slot = index[cell] - 1;
        if (open[slot] == 0) {
            return false;
        }
        if (--open[slot] == 0) {
            live--;
            linkIdle(slot);
        }
        return true;
    }

    /** Entries in the table (clients remembered), at most {@link #capacity()}. */
    synchronized int size() {
        return size;
    }

    /** Entries with a connection open: the ones that cannot be evicted. */
    synchronized int live() {
        return live;
    }

    int capacity() {
        return capacity;
    }

    /** Open connections of {@code key}, or -1 when the table does not hold it (tests, status). */
    synchronized int openConnections(long key) {
        int cell = find(key);
        return cell == NONE ? -1 : open[index[cell] - 1];
    }

    private boolean takeToken(int slot, long nowNanos) {
        long base = Math.max(emptyAt[slot], nowNanos - burstNanos); // never more than a burst saved up
        long next = base + nanosPerToken;
        if (next > nowNanos) {
            return false;
        }
        emptyAt[slot] = next;
        return true;
    }

    /** A slot for a new key: a never used one, else that of the entry idle longest, else NONE. */
    private int freeSlot() {
        if (size < capacity) {
            return size++;
        }
        int slot = idleOldest;
        if (slot == NONE) {
            return NONE;
        }
        unlinkIdle(slot);
        remove(find(keys[slot]));
        return slot;
    }

    private int home(long key) {
        // murmur3's fmix64 of the seeded key: a bijection, so distinct keys stay distinct before the mask.
        long h = key ^ seed;
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return (int) h & mask;
    }

    /** The cell holding {@code key}, or NONE. Terminates: at least half the cells are empty. */
    private int find(long key) {
        int cell = home(key);
        while (true) {
            int entry = index[cell];
            if (entry == 0) {
                return NONE;
            }
            if (keys[entry - 1] == key) {
                return cell;
            }
            cell = (cell + 1) & mask;
        }
    }

    private void insert(long key, int slot) {
        int cell = home(key);
        while (index[cell] != 0) {
            cell = (cell + 1) & mask;
        }
        index[cell] = slot + 1;
    }

    /**
     * Empties {@code cell} by backward shift: each later entry of the probe run moves into the hole unless its
     * home lies (cyclically) after the hole, so every remaining key stays reachable from its home without
     * tombstones.
     */
    private void remove(int cell) {
        int hole = cell;
        int at = cell;
        while (true) {
            at = (at + 1) & mask;
            int entry = index[at];
            if (entry == 0) {
                break;
            }
            int home = home(keys[entry - 1]);
            if (((at - home) & mask) >= ((at - hole) & mask)) { // home not in (hole, at]: it may move back
                index[hole] = entry;
                hole = at;
            }
        }
        index[hole] = 0;
    }

    /** Appends {@code slot} to the idle list as the entry idle least long. */
    private void linkIdle(int slot) {
        older[slot] = idleNewest;
        newer[slot] = NONE;
        if (idleNewest == NONE) {
            idleOldest = slot;
        } else {
            newer[idleNewest] = slot;
        }
        idleNewest = slot;
    }

    private void unlinkIdle(int slot) {
        int before = older[slot];
        int after = newer[slot];
        if (before == NONE) {
            idleOldest = after;
        } else {
            newer[before] = after;
        }
        if (after == NONE) {
            idleNewest = before;
        } else {
            older[after] = before;
        }
    }
}
