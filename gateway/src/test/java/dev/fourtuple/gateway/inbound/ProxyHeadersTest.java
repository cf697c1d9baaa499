package dev.fourtuple.gateway.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class ProxyHeadersTest {
    private static final InetSocketAddress CLIENT = new InetSocketAddress("10.1.2.3", 54321);

    private static HttpRequest get(String uri) {
        return request(HttpVersion.HTTP_1_1, HttpMethod.GET, uri);
    }

    private static HttpRequest request(HttpVersion version, HttpMethod method, String uri) {
        HttpRequest request = new DefaultHttpRequest(version, method, uri);
        request.headers().set(HttpHeaderNames.HOST, "app.example:8080");
        return request;
    }

    private static HttpResponse response(HttpResponseStatus status) {
        return new DefaultHttpResponse(HttpVersion.HTTP_1_1, status);
    }

    private static HttpResponse okWithLength(int length) {
        HttpResponse response = response(HttpResponseStatus.OK);
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, length);
        return response;
    }

    private static HttpResponse okChunked() {
        HttpResponse response = response(HttpResponseStatus.OK);
        response.headers().set(HttpHeaderNames.TRANSFER_ENCODING, "chunked");
        return response;
    }

    @Nested
    class PrepareRequest {

        @Test
        void removesHopByHopHeaders() {
            HttpRequest request = get("/a");
            HttpHeaders headers = request.headers();
            headers.set(HttpHeaderNames.CONNECTION, "keep-alive");
            headers.set(HttpHeaderNames.KEEP_ALIVE, "timeout=5");
            headers.set(HttpHeaderNames.PROXY_CONNECTION, "keep-alive");
            headers.set(HttpHeaderNames.TE, "trailers");
            headers.set(HttpHeaderNames.TRAILER, "X-Checksum");
            headers.set(HttpHeaderNames.UPGRADE, "h2c");
            headers.set("X-End-To-End", "kept");

            ProxyHeaders.prepareRequest(request, CLIENT, null, false, false);

            assertThat(headers.contains(HttpHeaderNames.CONNECTION)).isFalse();
            assertThat(headers.contains(HttpHeaderNames.KEEP_ALIVE)).isFalse();
            assertThat(headers.contains(HttpHeaderNames.PROXY_CONNECTION)).isFalse();
            assertThat(headers.contains(HttpHeaderNames.TE)).isFalse();
            assertThat(headers.contains(HttpHeaderNames.TRAILER)).isFalse();
            assertThat(headers.contains(HttpHeaderNames.UPGRADE)).isFalse();
            assertThat(headers.get("X-End-To-End")).isEqualTo("kept");
        }

        @Test
        void removesHeadersNamedInConnection() {
            HttpRequest request = get("/a");
            HttpHeaders headers = request.headers();
            headers.set(HttpHeaderNames.CONNECTION, "close, X-Secret");
            headers.add(HttpHeaderNames.CONNECTION, "x-other");
            headers.set("X-Secret", "token");
            headers.set("X-Other", "1");
            headers.set("X-Public", "2");

            ProxyHeaders.prepareRequest(request, CLIENT, null, false, false);

            assertThat(headers.contains("X-Secret")).isFalse();
            assertThat(headers.contains("X-Other")).as("named in a second Connection line").isFalse();
            assertThat(headers.get("X-Public")).isEqualTo("2");
            assertThat(headers.contains(HttpHeaderNames.CONNECTION)).isFalse();
        }

        @Test
        void keepsTransferEncodingEvenWhenConnectionNamesIt() {
            HttpRequest request = request(HttpVersion.HTTP_1_1, HttpMethod.POST, "/upload");
            request.headers().set(HttpHeaderNames.TRANSFER_ENCODING, "chunked");
            request.headers().set(HttpHeaderNames.CONNECTION, "Transfer-Encoding");

            ProxyHeaders.prepareRequest(request, CLIENT, null, false, false);

            assertThat(HttpUtil.isTransferEncodingChunked(request)).isTrue();
        }

        @Test
        void setsForwardedHeadersAndKeepsHost() {
            HttpRequest request = get("/a");

            ProxyHeaders.prepareRequest(request, CLIENT, null, false, false);

            HttpHeaders headers = request.headers();
            assertThat(headers.get("X-Forwarded-For")).isEqualTo("10.1.2.3");
            assertThat(headers.get("X-Forwarded-Proto")).isEqualTo("http");
            assertThat(headers.get("X-Forwarded-Host")).isEqualTo("app.example:8080");
            assertThat(headers.get(HttpHeaderNames.HOST)).isEqualTo("app.example:8080");
            assertThat(request.uri()).isEqualTo("/a");
        }

        @Test
        void appendsToAnExistingForwardedFor() {
            HttpRequest request = get("/a");
            request.headers().set("X-Forwarded-For", "203.0.113.9, 198.51.100.7");

            ProxyHeaders.prepareRequest(request, CLIENT, null, false, false);

            assertThat(request.headers().getAll("X-Forwarded-For"))
                    .containsExactly("203.0.113.9, 198.51.100.7, 10.1.2.3");
        }

        @Test
        void replacesAnEmptyForwardedFor() {
            HttpRequest request = get("/a");
            request.headers().set("X-Forwarded-For", "");

            ProxyHeaders.prepareRequest(request, CLIENT, null, false, false);

            assertThat(request.headers().get("X-Forwarded-For")).isEqualTo("10.1.2.3");
        }

        @Test
        void forwardedProtoIsOursNotTheClients() {
            HttpRequest request = get("/a");
            request.headers().set("X-Forwarded-Proto", "https");

            ProxyHeaders.prepareRequest(request, CLIENT, null, false, false);

            assertThat(request.headers().getAll("X-Forwarded-Proto")).containsExactly("http");
        }

        @Test
        void forwardedProtoIsHttpsOnATlsListenerWhateverTheClientSays() {
            HttpRequest request = get("/a");
            request.headers().set("X-Forwarded-Proto", "http");

            ProxyHeaders.prepareRequest(request, CLIENT, null, false, true);

            assertThat(request.headers().getAll("X-Forwarded-Proto")).containsExactly("https");
        }

        @Test
        void withoutAnInetClientAddressForwardedForIsLeftAlone() {
            HttpRequest request = get("/a");

            ProxyHeaders.prepareRequest(request, null, null, false, false);

            assertThat(request.headers().contains("X-Forwarded-For")).isFalse();
            assertThat(request.headers().get("X-Forwarded-Proto")).isEqualTo("http");
        }

        @Test
        void http10RequestIsForwardedAsHttp11() {
            HttpRequest request = request(HttpVersion.HTTP_1_0, HttpMethod.GET, "/old");

            ProxyHeaders.prepareRequest(request, CLIENT, null, false, false);

            assertThat(request.protocolVersion()).isEqualTo(HttpVersion.HTTP_1_1);
        }

        @Test
        void webSocketUpgradeKeepsConnectionUpgradeAndUpgrade() {
            HttpRequest request = webSocketUpgrade();
            request.headers().set(HttpHeaderNames.CONNECTION, "keep-alive, Upgrade");
            request.headers().set(HttpHeaderNames.KEEP_ALIVE, "timeout=5");

            ProxyHeaders.prepareRequest(request, CLIENT, null, true, false);

            HttpHeaders headers = request.headers();
            assertThat(headers.getAll(HttpHeaderNames.CONNECTION)).containsExactly("upgrade");
            assertThat(headers.getAll(HttpHeaderNames.UPGRADE)).containsExactly("websocket");
            assertThat(headers.contains(HttpHeaderNames.KEEP_ALIVE)).isFalse();
            assertThat(headers.get(HttpHeaderNames.SEC_WEBSOCKET_KEY)).isEqualTo("dGhlIHNhbXBsZSBub25jZQ==");
            assertThat(headers.get(HttpHeaderNames.SEC_WEBSOCKET_VERSION)).isEqualTo("13");
        }

        @Test
        void upgradeHeadersAreDroppedWhenNotTunnelling() {
            HttpRequest request = webSocketUpgrade();

            ProxyHeaders.prepareRequest(request, CLIENT, null, false, false);

            assertThat(request.headers().contains(HttpHeaderNames.CONNECTION)).isFalse();
            assertThat(request.headers().contains(HttpHeaderNames.UPGRADE)).isFalse();
        }

        @Test
        void absoluteFormTargetBecomesOriginFormWithItsAuthorityAsHost() {
            HttpRequest request = get("http://example.com:8080/a?b=1");
            request.headers().set(HttpHeaderNames.HOST, "ignored.example");

            ProxyHeaders.prepareRequest(request, CLIENT, null, false, false);

            assertThat(request.uri()).isEqualTo("/a?b=1");
            assertThat(request.headers().getAll(HttpHeaderNames.HOST)).containsExactly("example.com:8080");
            assertThat(request.headers().get("X-Forwarded-Host")).isEqualTo("example.com:8080");
        }

        @Test
        void absoluteFormWithoutPathGetsSlash() {
            HttpRequest bare = get("http://example.com");
            ProxyHeaders.prepareRequest(bare, CLIENT, null, false, false);
            assertThat(bare.uri()).isEqualTo("/");
            assertThat(bare.headers().get(HttpHeaderNames.HOST)).isEqualTo("example.com");

            HttpRequest queryOnly = get("HTTP://example.com?x=1");
            ProxyHeaders.prepareRequest(queryOnly, CLIENT, null, false, false);
            assertThat(queryOnly.uri()).isEqualTo("/?x=1");
            assertThat(queryOnly.headers().get(HttpHeaderNames.HOST)).isEqualTo("example.com");
        }

        @Test
        void originFormTargetIsLeftAlone() {
            HttpRequest request = get("/redirect?to=http://other.example/");

            ProxyHeaders.prepareRequest(request, CLIENT, null, false, false);

            assertThat(request.uri()).isEqualTo("/redirect?to=http://other.example/");
            assertThat(request.headers().get(HttpHeaderNames.HOST)).isEqualTo("app.example:8080");
        }

        private HttpRequest webSocketUpgrade() {
            HttpRequest request = get("/ws");
            request.headers()
                    .set(HttpHeaderNames.CONNECTION, "Upgrade")
                    .set(HttpHeaderNames.UPGRADE, "websocket")
                    .set(HttpHeaderNames.SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ==")
                    .set(HttpHeaderNames.SEC_WEBSOCKET_VERSION, "13");
            return request;
        }
    }

    @Nested
    class IsWebSocketUpgrade {

        private HttpRequest withHeaders(HttpMethod method, String connection, String upgrade) {
            HttpRequest request = request(HttpVersion.HTTP_1_1, method, "/ws");
            if (connection != null) {
                request.headers().set(HttpHeaderNames.CONNECTION, connection);
            }
            if (upgrade != null) {
                request.headers().set(HttpHeaderNames.UPGRADE, upgrade);
            }
            return request;
        }

        @Test
        void getWithConnectionUpgradeAndUpgradeWebsocket() {
            assertThat(WebSocketHandshake.isUpgrade(withHeaders(HttpMethod.GET, "Upgrade", "websocket"))).isTrue();
            assertThat(WebSocketHandshake.isUpgrade(withHeaders(HttpMethod.GET, "upgrade", "WebSocket"))).isTrue();
            assertThat(WebSocketHandshake.isUpgrade(withHeaders(HttpMethod.GET, "keep-alive, Upgrade", "websocket")))
                    .as("Firefox sends a list").isTrue();
        }

        @Test
        void notAnUpgrade() {
            assertThat(WebSocketHandshake.isUpgrade(withHeaders(HttpMethod.GET, null, null))).isFalse();
            assertThat(WebSocketHandshake.isUpgrade(withHeaders(HttpMethod.GET, "Upgrade", null))).isFalse();
            assertThat(WebSocketHandshake.isUpgrade(withHeaders(HttpMethod.GET, null, "websocket"))).isFalse();
            assertThat(WebSocketHandshake.isUpgrade(withHeaders(HttpMethod.GET, "keep-alive", "websocket")))
                    .isFalse();
            assertThat(WebSocketHandshake.isUpgrade(withHeaders(HttpMethod.GET, "Upgrade", "h2c"))).isFalse();
            assertThat(WebSocketHandshake.isUpgrade(withHeaders(HttpMethod.POST, "Upgrade", "websocket")))
                    .as("RFC 6455 §4.1: the handshake is a GET").isFalse();
        }
    }

    @Nested
    class PrepareResponse {

        @Test
        void removesHopByHopHeadersAndKeepsTheConnectionOpen() {
            HttpResponse response = okWithLength(5);
            HttpHeaders headers = response.headers();
            headers.set(HttpHeaderNames.CONNECTION, "close, X-Backend-Debug");
            headers.set(HttpHeaderNames.KEEP_ALIVE, "timeout=5");
            headers.set(HttpHeaderNames.PROXY_CONNECTION, "close");
            headers.set(HttpHeaderNames.TRAILER, "X-Checksum");
            headers.set(HttpHeaderNames.UPGRADE, "h2c");
            headers.set("X-Backend-Debug", "secret");
            headers.set("X-Request-Id", "42");

            boolean close = ProxyHeaders.prepareResponse(response, HttpVersion.HTTP_1_1, true, false);

            assertThat(close).isFalse();
            assertThat(headers.contains(HttpHeaderNames.CONNECTION))
                    .as("the backend's Connection: close is about its own hop").isFalse();
            assertThat(headers.contains(HttpHeaderNames.KEEP_ALIVE)).isFalse();
            assertThat(headers.contains(HttpHeaderNames.PROXY_CONNECTION)).isFalse();
            assertThat(headers.contains(HttpHeaderNames.TRAILER)).isFalse();
            assertThat(headers.contains(HttpHeaderNames.UPGRADE)).isFalse();
            assertThat(headers.contains("X-Backend-Debug")).isFalse();
            assertThat(headers.get("X-Request-Id")).isEqualTo("42");
            assertThat(headers.getInt(HttpHeaderNames.CONTENT_LENGTH)).isEqualTo(5);
            assertThat(HttpUtil.isTransferEncodingChunked(response)).isFalse();
        }

        @Test
        void notKeepingAliveSaysConnectionCloseAndAsksToClose() {
            HttpResponse response = okWithLength(5);

            boolean close = ProxyHeaders.prepareResponse(response, HttpVersion.HTTP_1_1, false, false);

            assertThat(close).isTrue();
            assertThat(response.headers().getAll(HttpHeaderNames.CONNECTION)).containsExactly("close");
        }

        @Test
        void chunkedResponseToHttp11ClientStaysChunked() {
            HttpResponse response = okChunked();

            boolean close = ProxyHeaders.prepareResponse(response, HttpVersion.HTTP_1_1, true, false);

            assertThat(close).isFalse();
            assertThat(HttpUtil.isTransferEncodingChunked(response)).isTrue();
        }

        @Test
        void chunkedResponseToHttp10ClientLosesChunkedAndMustClose() {
            HttpResponse response = okChunked();

            boolean close = ProxyHeaders.prepareResponse(response, HttpVersion.HTTP_1_0, true, false);

            assertThat(close).isTrue();
            assertThat(response.headers().get(HttpHeaderNames.CONNECTION)).isEqualTo("close");
            // RFC 9112 §6.1: no Transfer-Encoding to a client that did not speak HTTP/1.1; the body is
            // delimited by the close instead.
            assertThat(HttpUtil.isTransferEncodingChunked(response)).as("chunked removed").isFalse();
            assertThat(response.headers().contains(HttpHeaderNames.TRANSFER_ENCODING)).isFalse();
        }

        @Test
        void closeDelimitedBodyToHttp11ClientIsChunkedAndKeepsTheConnection() {
            HttpResponse response = response(HttpResponseStatus.OK); // no length, not chunked

            boolean close = ProxyHeaders.prepareResponse(response, HttpVersion.HTTP_1_1, true, false);

            assertThat(close).isFalse();
            assertThat(HttpUtil.isTransferEncodingChunked(response)).isTrue();
            assertThat(response.headers().contains(HttpHeaderNames.CONTENT_LENGTH)).isFalse();
        }

        @Test
        void closeDelimitedBodyToHttp10ClientMustClose() {
            HttpResponse response = response(HttpResponseStatus.OK);

            boolean close = ProxyHeaders.prepareResponse(response, HttpVersion.HTTP_1_0, true, false);

            assertThat(close).isTrue();
            assertThat(HttpUtil.isTransferEncodingChunked(response)).isFalse();
            assertThat(response.headers().get(HttpHeaderNames.CONNECTION)).isEqualTo("close");
        }

        @Test
        void bodylessResponsesAreNotMadeChunked() {
            HttpResponse noContent = response(HttpResponseStatus.NO_CONTENT);
            assertThat(ProxyHeaders.prepareResponse(noContent, HttpVersion.HTTP_1_1, true, true)).isFalse();
            assertThat(noContent.headers().contains(HttpHeaderNames.TRANSFER_ENCODING)).isFalse();

            HttpResponse notModified = response(HttpResponseStatus.NOT_MODIFIED);
            assertThat(ProxyHeaders.prepareResponse(notModified, HttpVersion.HTTP_1_1, true, true)).isFalse();
            assertThat(notModified.headers().contains(HttpHeaderNames.TRANSFER_ENCODING)).isFalse();

            HttpResponse headAnswer = response(HttpResponseStatus.OK);
            assertThat(ProxyHeaders.prepareResponse(headAnswer, HttpVersion.HTTP_1_1, true, true)).isFalse();
            assertThat(headAnswer.headers().contains(HttpHeaderNames.TRANSFER_ENCODING)).isFalse();
        }

        @Test
        void bodylessResponseToHttp10ClientCanKeepAlive() {
            HttpResponse noContent = response(HttpResponseStatus.NO_CONTENT);

            boolean close = ProxyHeaders.prepareResponse(noContent, HttpVersion.HTTP_1_0, true, true);

            assertThat(close).isFalse();
            assertThat(noContent.headers().get(HttpHeaderNames.CONNECTION)).isEqualTo("keep-alive");
        }

        @Test
        void http10KeepAliveClientIsToldKeepAlive() {
            HttpResponse response = okWithLength(5);

            boolean close = ProxyHeaders.prepareResponse(response, HttpVersion.HTTP_1_0, true, false);

            assertThat(close).isFalse();
            assertThat(response.headers().getAll(HttpHeaderNames.CONNECTION)).containsExactly("keep-alive");
        }

        @Test
        void http10ClientNotKeptAliveIsToldClose() {
            HttpResponse response = okWithLength(5);

            boolean close = ProxyHeaders.prepareResponse(response, HttpVersion.HTTP_1_0, false, false);

            assertThat(close).isTrue();
            assertThat(response.headers().getAll(HttpHeaderNames.CONNECTION)).containsExactly("close");
        }

        @Test
        void responseIsSentAsHttp11() {
            HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_0, HttpResponseStatus.OK);
            response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 0);

            ProxyHeaders.prepareResponse(response, HttpVersion.HTTP_1_1, true, false);

            assertThat(response.protocolVersion()).isEqualTo(HttpVersion.HTTP_1_1);
        }
    }

    @Test
    void pathDropsQueryAndFragment() {
        assertThat(ProxyHeaders.path("/a/b?c=1#d")).isEqualTo("/a/b");
        assertThat(ProxyHeaders.path("/a/b#d?x")).isEqualTo("/a/b");
        assertThat(ProxyHeaders.path("/a/b")).isEqualTo("/a/b");
        assertThat(ProxyHeaders.path("/?q")).isEqualTo("/");
    }
}
