package dev.fourtuple.gateway.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Proves the leak check that guards every other test class actually sees a leak. */
class LeakDetectionTest {

    @Test
    void leakDetectionIsParanoidAndRecordsLeaks() throws Exception {
        assertThat(ResourceLeakDetector.getLevel()).isEqualTo(ResourceLeakDetector.Level.PARANOID);
        leakOneBuffer();
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < 20 && seen.isEmpty(); i++) {
            System.gc();
            Thread.sleep(50);
            ByteBufAllocator.DEFAULT.directBuffer(16).release();
            seen.addAll(LeakFailingDetector.drain());
        }
        assertThat(seen).as("the deliberately leaked buffer is reported").isNotEmpty();
        assertThat(seen.get(0)).startsWith("LEAK: ");
    }

    private static void leakOneBuffer() {
        ByteBuf leaked = ByteBufAllocator.DEFAULT.directBuffer(64);
        leaked.writeLong(42);
        // no release: the detector must notice once it is collected
    }
}
