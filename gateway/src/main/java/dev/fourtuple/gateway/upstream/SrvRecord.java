package dev.fourtuple.gateway.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.dns.DefaultDnsRecordDecoder;
import io.netty.handler.codec.dns.DnsRawRecord;
import io.netty.handler.codec.dns.DnsRecord;
import io.netty.handler.codec.dns.DnsRecordType;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * One SRV record's data (<a href="https://www.rfc-editor.org/rfc/rfc2782">RFC 2782</a>): priority, weight,
 * port, target.
 *
 * @param target lower case, without the trailing dot
 */
record SrvRecord(int priority, int weight, int port, String target, long ttlSeconds) {

    /**
     * The record's data, or null when it is not a usable SRV record: another type, shorter than its fixed
     * fields, a name the decoder refuses (a pointer out of range, a loop), port 0, or the target "." which
     * RFC 2782 defines as "the service is decidedly not available at this domain".
     */
    static @Nullable SrvRecord parse(DnsRecord record) {
        if (record.type() != DnsRecordType.SRV || !(record instanceof DnsRawRecord raw)) {
            return null;
        }
        // The content is a view of the whole message (reader index at this record's data), so the target's
        // compression pointers resolve; a duplicate keeps the record's own indexes for whoever reads it next.
        ByteBuf data = raw.content().duplicate();
        if (data.readableBytes() < 7) {
            return null;
        }
        int priority = data.readUnsignedShort();
        int weight = data.readUnsignedShort();
        int port = data.readUnsignedShort();
        String target;
        try {
            target = DefaultDnsRecordDecoder.decodeName(data);
        } catch (CorruptedFrameException | IndexOutOfBoundsException e) {
            return null;
        }
        if (target.endsWith(".")) {
            target = target.substring(0, target.length() - 1);
        }
        if (port == 0 || target.isEmpty()) {
            return null;
        }
        return new SrvRecord(priority, weight, port, target.toLowerCase(Locale.ROOT), record.timeToLive());
    }
}
