package dev.fourtuple.gateway.inbound;

import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;

/**
 * The response side of a client connection's codec: {@code [encoder: FrontendResponseEncoder]}. Netty's
 * response encoder, told which request the next response answers: a response to HEAD keeps the framing
 * headers the GET would have had but carries no body and, if chunked, no last chunk (RFC 9110 §9.3.2,
 * RFC 9112 §6.3 rule 1). One request is answered at a time, so one flag is enough.
 */
final class FrontendResponseEncoder extends HttpResponseEncoder {
    private boolean toHead;

    /** The next response answers a request with this method. */
    void respondingTo(HttpMethod method) {
        toHead = method.equals(HttpMethod.HEAD);
    }

    @Override
    protected boolean isContentAlwaysEmpty(HttpResponse msg) {
        boolean isFinal = msg.status().code() >= 200;
        boolean empty = toHead && isFinal || super.isContentAlwaysEmpty(msg);
        if (isFinal) {
            toHead = false; // answered: a response of the gateway's own after this (a 408) is not to the HEAD
        }
        return empty;
    }
}
