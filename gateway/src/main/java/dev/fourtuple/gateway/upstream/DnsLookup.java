package dev.fourtuple.gateway.upstream;

import dev.fourtuple.gateway.config.BackendConfig;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.dns.DefaultDnsQuestion;
import io.netty.handler.codec.dns.DnsRawRecord;
import io.netty.handler.codec.dns.DnsRecord;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.resolver.dns.DnsErrorCauseException;
import io.netty.resolver.dns.DnsNameResolver;
import io.netty.resolver.dns.DnsNameResolverTimeoutException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * One lookup of one DNS name, on the resolver's event loop: {@code dns:} asks A and AAAA together (an answer
 * of either counts); {@code srv:} asks SRV, keeps the lowest priority ({@link SrvWeights}), then asks each
 * target's A and AAAA. Never blocks: every step is a listener on the resolver's futures.
 *
 * <p>Every answer comes from the network: the resolver library parses the message; what it hands over is
 * checked here again (an A record of 4 bytes, AAAA of 16, no wildcard or multicast address) and capped: at
 * most {@link #MAX_ADDRESSES} addresses per name and {@link #MAX_SRV_TARGETS} SRV targets, the heaviest,
 * whatever the answer holds. Beyond that a backend list stops being useful and only costs memory and
 * tuples. Every record the resolver hands over is released here.
 */
final class DnsLookup {
    /** Most addresses one name contributes to its cluster. */
    static final int MAX_ADDRESSES = 256;
    /** Most SRV targets resolved for one name (each costs two queries per refresh). */
    static final int MAX_SRV_TARGETS = 64;

    private final DnsNameResolver resolver;
    private final EventLoop loop;

    DnsLookup(DnsNameResolver resolver, EventLoop loop) {
        this.resolver = resolver;
        this.loop = loop;
    }

    /** The answer, or a failure whose {@link DnsLookupFailure} says why in a few words. */
    Future<DnsAnswer> lookup(BackendConfig.DnsName name) {
        return name.srv() ? srv(name.host()) : hosts(name.host(), name.port(), 1);
    }

    /** A and AAAA of {@code host}, each address at {@code port} with {@code weight}. */
    private Future<DnsAnswer> hosts(String host, int port, int weight) {
        Promise<DnsAnswer> done = loop.newPromise();
        Future<List<DnsRecord>> v4 = resolver.resolveAll(new DefaultDnsQuestion(host, DnsRecordType.A));
        Future<List<DnsRecord>> v6 = resolver.resolveAll(new DefaultDnsQuestion(host, DnsRecordType.AAAA));
        whenAll(List.of(v4, v6), () -> {
            Set<Discovered.Address> addresses = new LinkedHashSet<>();
            long ttl = Long.MAX_VALUE;
            for (Future<List<DnsRecord>> answer : List.of(v4, v6)) {
                ttl = Math.min(ttl, collect(answer, port, weight, addresses));
            }
            if (!addresses.isEmpty()) {
                done.setSuccess(new DnsAnswer(List.copyOf(addresses), ttl));
            } else {
                String a = v4.isSuccess() ? "no usable A record" : reason(v4.cause());
                String aaaa = v6.isSuccess() ? "no usable AAAA record" : reason(v6.cause());
                done.setFailure(new DnsLookupFailure(a.equals(aaaa) ? a : "A: " + a + ", AAAA: " + aaaa));
            }
        });
        return done;
    }

    /**
     * Adds the usable addresses of a finished A or AAAA query (at most up to {@link #MAX_ADDRESSES}), releases
     * its records, and returns the smallest TTL of those used (Long.MAX_VALUE when none).
     */
    private static long collect(Future<List<DnsRecord>> answer, int port, int weight, Set<Discovered.Address> into) {
        if (!answer.isSuccess()) {
            return Long.MAX_VALUE;
        }
        long ttl = Long.MAX_VALUE;
        for (DnsRecord record : answer.getNow()) {
            try {
                InetAddress address = address(record);
                if (address != null && into.size() < MAX_ADDRESSES
                        && into.add(new Discovered.Address(new InetSocketAddress(address, port), weight))) {
                    ttl = Math.min(ttl, record.timeToLive());
                }
            } finally {
                ReferenceCountUtil.release(record);
            }
        }
        return ttl;
    }

    /** The address an A (4 bytes) or AAAA (16 bytes) record holds, or null when it holds no usable one. */
    static @Nullable InetAddress address(DnsRecord record) {
        int length = record.type() == DnsRecordType.A ? 4 : record.type() == DnsRecordType.AAAA ? 16 : -1;
        if (length < 0 || !(record instanceof DnsRawRecord raw) || raw.content().readableBytes() != length) {
            return null;
        }
        ByteBuf content = raw.content();
        byte[] bytes = new byte[length];
        content.getBytes(content.readerIndex(), bytes);
        try {
            InetAddress address = InetAddress.getByAddress(bytes); // no lookup: an address of bytes
            return address.isAnyLocalAddress() || address.isMulticastAddress() ? null : address;
        } catch (UnknownHostException e) { // only for a wrong length, checked above
            return null;
        }
    }

    /** SRV of {@code name}: the lowest priority's targets, each resolved, with their weights and ports. */
    private Future<DnsAnswer> srv(String name) {
        Promise<DnsAnswer> done = loop.newPromise();
        resolver.resolveAll(new DefaultDnsQuestion(name, DnsRecordType.SRV)).addListener(
                (Future<List<DnsRecord>> answer) -> {
                    if (!answer.isSuccess()) {
                        done.setFailure(new DnsLookupFailure(reason(answer.cause())));
                        return;
                    }
                    List<SrvRecord> records = new ArrayList<>();
                    for (DnsRecord record : answer.getNow()) {
                        try {
                            SrvRecord parsed = SrvRecord.parse(record);
                            if (parsed != null) {
                                records.add(parsed);
                            }
                        } finally {
                            ReferenceCountUtil.release(record);
                        }
                    }
                    if (records.isEmpty()) {
                        done.setFailure(new DnsLookupFailure("no usable SRV record"));
                        return;
                    }
                    targets(SrvWeights.select(records, MAX_SRV_TARGETS), done);
                });
        return done;
    }

    private void targets(List<SrvWeights.Weighted> chosen, Promise<DnsAnswer> done) {
        List<Future<DnsAnswer>> lookups = new ArrayList<>();
        for (SrvWeights.Weighted target : chosen) {
            lookups.add(hosts(target.record().target(), target.record().port(), target.weight()));
        }
        whenAll(lookups, () -> {
            Set<Discovered.Address> addresses = new LinkedHashSet<>();
            long ttl = Long.MAX_VALUE;
            String firstFailure = null;
            for (int i = 0; i < lookups.size(); i++) {
                Future<DnsAnswer> lookup = lookups.get(i);
                if (!lookup.isSuccess()) {
                    firstFailure = firstFailure != null ? firstFailure
                            : chosen.get(i).record().target() + ": " + reason(lookup.cause());
                    continue;
                }
                ttl = Math.min(ttl, Math.min(chosen.get(i).record().ttlSeconds(), lookup.getNow().ttlSeconds()));
                for (Discovered.Address address : lookup.getNow().addresses()) {
                    if (addresses.size() < MAX_ADDRESSES) {
                        addresses.add(address);
                    }
                }
            }
            if (addresses.isEmpty()) {
                done.setFailure(new DnsLookupFailure("no SRV target resolved (" + firstFailure + ")"));
            } else {
                done.setSuccess(new DnsAnswer(List.copyOf(addresses), ttl));
            }
        });
    }

    /** Runs {@code then} once every future is done (on the loop their listeners run on). */
    private static <T> void whenAll(List<? extends Future<? extends T>> futures, Runnable then) {
        int[] left = {futures.size()};
        if (left[0] == 0) {
            then.run();
            return;
        }
        Consumer<Future<?>> one = f -> {
            if (--left[0] == 0) { // listeners run on the resolver's loop: no race on the count
                then.run();
            }
        };
        for (Future<? extends T> future : futures) {
            future.addListener(one::accept);
        }
    }

    /** A failure in a few words: timed out, NXDOMAIN (or another response code), or the resolver's message. */
    static String reason(@Nullable Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof DnsLookupFailure failure) {
                return failure.getMessage();
            }
            if (t instanceof DnsNameResolverTimeoutException) {
                return "timed out";
            }
            if (t instanceof DnsErrorCauseException error) {
                DnsResponseCode code = error.getCode();
                return code.equals(DnsResponseCode.NXDOMAIN) ? "NXDOMAIN" : code.equals(DnsResponseCode.SERVFAIL)
                        ? "SERVFAIL" : code.equals(DnsResponseCode.REFUSED) ? "REFUSED" : "response " + code;
            }
        }
        if (cause instanceof UnknownHostException && cause.getMessage() != null
                && cause.getMessage().contains("No answer found")) {
            return "no records";
        }
        return cause == null ? "unknown" : String.valueOf(cause.getMessage());
    }
}
