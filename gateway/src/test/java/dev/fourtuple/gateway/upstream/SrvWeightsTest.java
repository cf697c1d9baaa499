package dev.fourtuple.gateway.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.dns.DefaultDnsRawRecord;
import io.netty.handler.codec.dns.DnsRecordType;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class SrvWeightsTest {
    @Test
    void weightsBecomeBackendWeightsInProportionToTheHeaviest() {
        assertThat(SrvWeights.weight(3, 3)).isEqualTo(256);
        assertThat(SrvWeights.weight(1, 3)).isEqualTo(85);
        assertThat(SrvWeights.weight(65_535, 65_535)).isEqualTo(256);
        assertThat(SrvWeights.weight(1, 65_535)).isEqualTo(1);
        assertThat(SrvWeights.weight(32_768, 65_535)).isEqualTo(128);
    }

    @Test
    void weightZeroGetsTheLeastAndAllZeroShareEqually() {
        assertThat(SrvWeights.weight(0, 10)).isEqualTo(1);
        assertThat(SrvWeights.weight(0, 0)).isEqualTo(1);
    }

    @Test
    void onlyTheLowestPriorityIsUsedHeaviestFirst() {
        List<SrvWeights.Weighted> chosen = SrvWeights.select(List.of(
                new SrvRecord(20, 100, 80, "fallback.test", 1),
                new SrvRecord(10, 1, 81, "light.test", 1),
                new SrvRecord(10, 3, 82, "heavy.test", 1)), 64);

        assertThat(chosen).extracting(w -> w.record().target()).containsExactly("heavy.test", "light.test");
        assertThat(chosen).extracting(SrvWeights.Weighted::weight).containsExactly(256, 85);
    }

    @Test
    void atMostTheLimitOfTargetsTheHeaviest() {
        List<SrvWeights.Weighted> chosen = SrvWeights.select(List.of(
                new SrvRecord(0, 5, 80, "a.test", 1), new SrvRecord(0, 9, 80, "b.test", 1),
                new SrvRecord(0, 7, 80, "c.test", 1)), 2);

        assertThat(chosen).extracting(w -> w.record().target()).containsExactly("b.test", "c.test");
    }

    @Test
    void parsesARecordWhoseTargetIsACompressionPointerIntoTheMessage() {
        // A message: at 0 the name "svc.test" (a target elsewhere in the message); at 10 the SRV data,
        // whose target is a pointer to offset 0. The record's content is a view of the message, as the decoder
        // hands it over.
        ByteBuf message = Unpooled.buffer();
        writeName("svc.test", message);
        int start = message.writerIndex();
        message.writeShort(10).writeShort(3).writeShort(8443).writeShort(0xC000);
        ByteBuf content = message.duplicate().setIndex(start, message.writerIndex());
        DefaultDnsRawRecord record = new DefaultDnsRawRecord("_app._tcp.test.", DnsRecordType.SRV, 7, content);
        try {
            assertThat(SrvRecord.parse(record)).isEqualTo(new SrvRecord(10, 3, 8443, "svc.test", 7));
            assertThat(content.readerIndex()).as("the record stays readable").isEqualTo(start);
        } finally {
            record.release();
        }
    }

    @Test
    void refusesShortDataPortZeroTheRootTargetAndABadPointer() {
        assertThat(parse(Unpooled.buffer().writeShort(1).writeShort(1))).isNull();
        assertThat(parse(srvData(0, "a.test"))).isNull();
        assertThat(parse(srvData(80, "."))).isNull();
        ByteBuf outOfRange = Unpooled.buffer().writeShort(0).writeShort(0).writeShort(80).writeShort(0xC0FF);
        assertThat(parse(outOfRange)).isNull();
    }

    private static SrvRecord parse(ByteBuf data) {
        DefaultDnsRawRecord record = new DefaultDnsRawRecord("x.test.", DnsRecordType.SRV, 1, data);
        try {
            return SrvRecord.parse(record);
        } finally {
            record.release();
        }
    }

    private static ByteBuf srvData(int port, String target) {
        ByteBuf data = Unpooled.buffer().writeShort(0).writeShort(0).writeShort(port);
        writeName(target, data);
        return data;
    }

    private static void writeName(String name, ByteBuf out) {
        for (String label : name.split("\\.")) {
            if (!label.isEmpty()) {
                byte[] bytes = label.getBytes(StandardCharsets.US_ASCII);
                out.writeByte(bytes.length).writeBytes(bytes);
            }
        }
        out.writeByte(0);
    }
}
