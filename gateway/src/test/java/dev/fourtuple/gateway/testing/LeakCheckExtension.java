package dev.fourtuple.gateway.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class when Netty reported a buffer leak while it ran. Registered for every test class
 * through {@code META-INF/services} and {@code junit.jupiter.extensions.autodetection.enabled}.
 *
 * <p>Leaks are found when a leaked buffer is garbage-collected and a later allocation polls the detector's
 * queue, so after the class this forces a few GCs and allocations before looking.
 */
public final class LeakCheckExtension implements AfterAllCallback {

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
            provoke(ByteBufAllocator.DEFAULT);
            provoke(PooledByteBufAllocator.DEFAULT);
            provoke(UnpooledByteBufAllocator.DEFAULT);
        }
        List<String> leaks = LeakFailingDetector.drain();
        if (!leaks.isEmpty()) {
            throw new AssertionError(leaks.size() + " Netty buffer leak(s) in " + context.getDisplayName() + ":\n"
                    + String.join("\n\n", leaks));
        }
    }

    private static void provoke(ByteBufAllocator allocator) {
        for (int i = 0; i < 64; i++) {
            ByteBuf probe = allocator.directBuffer(16);
            probe.release();
            ByteBuf heap = allocator.heapBuffer(16);
            heap.release();
        }
    }
}
