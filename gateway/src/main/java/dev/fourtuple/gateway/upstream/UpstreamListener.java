package dev.fourtuple.gateway.upstream;

import io.netty.handler.codec.http.HttpObject;
import org.jspecify.annotations.Nullable;

/**
 * The user of an upstream connection while it is attached: the exchange whose request it carries.
 * Every call comes on the connection's event loop, which is also the user's.
 */
public interface UpstreamListener {

    /** A decoded piece of the response: a head, a body chunk or the last chunk. Ownership passes on. */
    void onResponse(HttpObject message);

    /** The socket read that produced the last {@link #onResponse} calls is done: time to flush. */
    void onResponseReadComplete();

    /** The connection can take writes again: request body reading may resume. */
    void onUpstreamWritable();

    /** The connection closed or failed while attached. {@code cause} is null for an orderly close. */
    void onUpstreamClosed(@Nullable Throwable cause);
}
