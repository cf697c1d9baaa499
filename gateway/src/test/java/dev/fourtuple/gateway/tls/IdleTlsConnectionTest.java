package dev.fourtuple.gateway.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fourtuple.gateway.config.TlsProvider;
import dev.fourtuple.gateway.config.TlsSettings;
import dev.fourtuple.gateway.testing.TestCa;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An established TLS connection that is idle holds no buffer in the gateway: the SslHandler's cumulation
 * (the bytes of a record not yet complete) is released once a record is consumed, and its queue of writes is
 * empty. Checked on the server pipeline {@link ServerTls} builds, fed by a real client engine.
 */
class IdleTlsConnectionTest {
    @TempDir
    Path dir;

    @Test
    void afterTheHandshakeAndAnExchangeTheServerSideHoldsNoBuffer() throws Exception {
        TestCa ca = TestCa.create("root");
        TestCa.Issued issued = ca.issue(dir, "a", "a.test");
        TlsSettings settings = new TlsSettings(TlsProvider.OPENSSL,
                List.of(new TlsSettings.CertificateFiles(issued.cert(), issued.key(), "test:1")),
                List.of("TLSv1.3", "TLSv1.2"), List.of("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
                Duration.ofSeconds(10), 256, Duration.ofHours(12), 100, Duration.ofHours(1));
        ServerTls tls = ServerTls.start("test", settings, new TlsMeters(new SimpleMeterRegistry()));
        SslContext clientContext = SslContextBuilder.forClient().sslProvider(SslProvider.OPENSSL)
                .trustManager(ca.root()).build();
        EmbeddedChannel server = new EmbeddedChannel();
        tls.addTo(server);
        EmbeddedChannel client = new EmbeddedChannel(clientContext.newHandler(
                io.netty.buffer.ByteBufAllocator.DEFAULT, "a.test", 443));
        try {
            pump(client, server);
            client.writeAndFlush(Unpooled.copiedBuffer("hello", StandardCharsets.US_ASCII));
            pump(client, server);
            ByteBuf received = server.readInbound();
            assertThat(received.toString(StandardCharsets.US_ASCII)).isEqualTo("hello");
            received.release();

            SslHandler handler = server.pipeline().get(SslHandler.class);
            assertThat(handler.handshakeFuture().isSuccess()).isTrue();
            assertThat(server.pipeline().get(ServerTls.WATCHER)).as("the watcher removed itself").isNull();
            assertThat(server.pipeline().names()).startsWith(ServerTls.HANDLER);
            assertThat(cumulation(handler)).as("no partial record held").isNull();
        } finally {
            client.finishAndReleaseAll();
            server.finishAndReleaseAll();
            ReferenceCountUtil.release(clientContext);
            tls.close();
        }
    }

    /** Moves bytes between the two until neither has any to send. */
    private static void pump(EmbeddedChannel client, EmbeddedChannel server) {
        boolean moved = true;
        while (moved) {
            moved = false;
            for (Object out; (out = client.readOutbound()) != null; moved = true) {
                server.writeInbound(out);
            }
            for (Object out; (out = server.readOutbound()) != null; moved = true) {
                client.writeInbound(out);
            }
        }
    }

    private static Object cumulation(SslHandler handler) throws ReflectiveOperationException {
        Field field = ByteToMessageDecoder.class.getDeclaredField("cumulation");
        field.setAccessible(true);
        return field.get(handler);
    }
}
