package dev.fourtuple.gateway.upstream;

/** A DNS lookup that gave no usable answer, in a few words; expected, so without a stack trace. */
final class DnsLookupFailure extends Exception {
    private static final long serialVersionUID = 1L;

    DnsLookupFailure(String reason) {
        super(reason, null, false, false);
    }
}
