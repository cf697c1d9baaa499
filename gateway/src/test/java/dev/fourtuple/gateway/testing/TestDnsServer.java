package dev.fourtuple.gateway.testing;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.dns.DatagramDnsQuery;
import io.netty.handler.codec.dns.DatagramDnsQueryDecoder;
import io.netty.handler.codec.dns.DatagramDnsResponse;
import io.netty.handler.codec.dns.DatagramDnsResponseEncoder;
import io.netty.handler.codec.dns.DefaultDnsRawRecord;
import io.netty.handler.codec.dns.DnsQuestion;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.codec.dns.DnsSection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A DNS server on 127.0.0.1:0 (UDP) for tests: answers A, AAAA and SRV questions from a table the test changes
 * while it runs, every record with a 1 s TTL; NXDOMAIN for a name it does not have, an empty answer for a type
 * the name has none of; and, when told, no answer at all (a server gone quiet).
 */
public final class TestDnsServer implements AutoCloseable {
    /** Every record's TTL. */
    public static final long TTL_SECONDS = 1;

    /** One SRV record: RFC 2782's fields. */
    public record Srv(int priority, int weight, int port, String target) {
    }

    /** What one name has. */
    private record Entry(List<InetAddress> addresses, List<Srv> srv) {
    }

    private final MultiThreadIoEventLoopGroup group;
    private final Channel channel;
    private final Map<String, Entry> names = new ConcurrentHashMap<>();
    private final AtomicInteger queries = new AtomicInteger();
    private volatile boolean silent;

    private TestDnsServer(MultiThreadIoEventLoopGroup group, Channel channel) {
        this.group = group;
        this.channel = channel;
    }

    public static TestDnsServer start() throws InterruptedException {
        MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        TestDnsServer[] server = new TestDnsServer[1];
        try {
            Channel channel = new Bootstrap().group(group).channel(NioDatagramChannel.class)
                    .handler(new io.netty.channel.ChannelInitializer<NioDatagramChannel>() {
                        @Override
                        protected void initChannel(NioDatagramChannel ch) {
                            ch.pipeline().addLast(new DatagramDnsQueryDecoder(), new DatagramDnsResponseEncoder(),
                                    new SimpleChannelInboundHandler<DatagramDnsQuery>() {
                                        @Override
                                        protected void channelRead0(ChannelHandlerContext ctx, DatagramDnsQuery q) {
                                            server[0].answer(ctx, q);
                                        }
                                    });
                        }
                    })
                    .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            server[0] = new TestDnsServer(group, channel);
            return server[0];
        } catch (InterruptedException | RuntimeException e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
    }

    /** 127.0.0.1:PORT, as {@code dns.resolvers} names it. */
    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** {@code "127.0.0.1:PORT"}. */
    public String hostPort() {
        return "127.0.0.1:" + address().getPort();
    }

    /** {@code name} has these A/AAAA addresses (IP literals) from now on. */
    public void addresses(String name, String... ips) {
        names.put(key(name), new Entry(List.of(ips).stream().map(TestDnsServer::literal).toList(), List.of()));
    }

    /** {@code name} has these SRV records from now on. */
    public void srv(String name, Srv... records) {
        names.put(key(name), new Entry(List.of(), List.of(records)));
    }

    /** {@code name} is unknown from now on (NXDOMAIN). */
    public void remove(String name) {
        names.remove(key(name));
    }

    /** true: queries are read and dropped, as by a server gone quiet; false: answered again. */
    public void silent(boolean silent) {
        this.silent = silent;
    }

    /** Questions received so far (answered or not). */
    public int queries() {
        return queries.get();
    }

    private void answer(ChannelHandlerContext ctx, DatagramDnsQuery query) {
        queries.incrementAndGet();
        if (silent || query.count(DnsSection.QUESTION) == 0) {
            return;
        }
        DnsQuestion question = query.recordAt(DnsSection.QUESTION);
        DatagramDnsResponse response = new DatagramDnsResponse(query.recipient(), query.sender(), query.id());
        response.setRecursionDesired(query.isRecursionDesired()).setRecursionAvailable(true);
        response.addRecord(DnsSection.QUESTION, question);
        Entry entry = names.get(key(question.name()));
        if (entry == null) {
            response.setCode(DnsResponseCode.NXDOMAIN);
        } else if (question.type() == DnsRecordType.A || question.type() == DnsRecordType.AAAA) {
            int length = question.type() == DnsRecordType.A ? 4 : 16;
            for (InetAddress address : entry.addresses()) {
                if (address.getAddress().length == length) {
                    response.addRecord(DnsSection.ANSWER, new DefaultDnsRawRecord(question.name(), question.type(),
                            TTL_SECONDS, Unpooled.wrappedBuffer(address.getAddress())));
                }
            }
        } else if (question.type() == DnsRecordType.SRV) {
            for (Srv srv : entry.srv()) {
                ByteBuf data = Unpooled.buffer();
                data.writeShort(srv.priority()).writeShort(srv.weight()).writeShort(srv.port());
                writeName(srv.target(), data);
                response.addRecord(DnsSection.ANSWER, new DefaultDnsRawRecord(question.name(), DnsRecordType.SRV,
                        TTL_SECONDS, data));
            }
        }
        ctx.writeAndFlush(response);
    }

    /** A name as labels (RFC 1035 3.1), uncompressed. */
    private static void writeName(String name, ByteBuf out) {
        for (String label : key(name).split("\\.")) {
            if (!label.isEmpty()) {
                byte[] bytes = label.getBytes(StandardCharsets.US_ASCII);
                out.writeByte(bytes.length).writeBytes(bytes);
            }
        }
        out.writeByte(0);
    }

    private static String key(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        return lower.endsWith(".") ? lower.substring(0, lower.length() - 1) : lower;
    }

    private static InetAddress literal(String ip) {
        try {
            return InetAddress.getByName(ip); // an IP literal: no lookup
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(ip, e);
        }
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly(1, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
