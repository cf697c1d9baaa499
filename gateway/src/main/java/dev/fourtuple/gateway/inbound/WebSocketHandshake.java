package dev.fourtuple.gateway.inbound;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import org.jspecify.annotations.Nullable;

/**
 * The WebSocket opening handshake as a proxy sees it (RFC 6455 §4): which requests ask for it, and whether a
 * backend's 101 really completes it. Only a completed handshake turns a connection into a byte tunnel; a 101
 * that does not is a bad response, because past it the gateway could no longer tell HTTP from anything else.
 */
final class WebSocketHandshake {
    /** RFC 6455 §1.3: the GUID appended to the key before hashing. */
    private static final byte[] GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11".getBytes(StandardCharsets.US_ASCII);
    private static final int KEY_BYTES = 16;

    private WebSocketHandshake() {
    }

    /**
     * True for a WebSocket upgrade request (RFC 6455 §4.1: a GET with {@code Connection: upgrade} and
     * {@code Upgrade: websocket}); the only upgrade tunnelled. RFC 9110 §7.8: an Upgrade in an HTTP/1.0
     * request is ignored.
     */
    static boolean isUpgrade(HttpRequest request) {
        HttpHeaders headers = request.headers();
        return request.method().equals(HttpMethod.GET)
                && request.protocolVersion() == HttpVersion.HTTP_1_1
                && headers.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)
                && headers.contains(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true);
    }

    /** RFC 6455 §4.1 item 7: the key is the base64 encoding of 16 bytes. */
    static boolean validKey(@Nullable String key) {
        if (key == null || key.length() != 24) {
            return false;
        }
        try {
            return Base64.getDecoder().decode(key).length == KEY_BYTES;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * Whether a 101 completes the handshake the client asked for with {@code key}: RFC 6455 §4.1, the client's
     * checks of the server's handshake, items 2-4: {@code Upgrade: websocket}, {@code Connection: upgrade}, and
     * a {@code Sec-WebSocket-Accept} equal to base64(SHA-1(key + GUID)). Null when it does, else what is wrong.
     */
    static @Nullable String checkSwitch(HttpResponse response, String key) {
        HttpHeaders headers = response.headers();
        if (!headers.contains(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true)
                || headers.getAll(HttpHeaderNames.UPGRADE).size() != 1) {
            return "101 without Upgrade: websocket"; // RFC 6455 §4.1, server handshake check 2
        }
        if (!headers.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)) {
            return "101 without Connection: upgrade"; // check 3
        }
        String accept = headers.get(HttpHeaderNames.SEC_WEBSOCKET_ACCEPT);
        if (accept == null || headers.getAll(HttpHeaderNames.SEC_WEBSOCKET_ACCEPT).size() != 1
                || !accept.trim().equals(acceptFor(key))) {
            return "101 whose Sec-WebSocket-Accept does not match the key"; // check 4
        }
        return null;
    }

    /** RFC 6455 §4.2.2 item 5.4: base64(SHA-1(key + GUID)). */
    static String acceptFor(String key) {
        try {
            MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
            sha1.update(key.getBytes(StandardCharsets.US_ASCII));
            sha1.update(GUID);
            return Base64.getEncoder().encodeToString(sha1.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-1", e);
        }
    }
}
