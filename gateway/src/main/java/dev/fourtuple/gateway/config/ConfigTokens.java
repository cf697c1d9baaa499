package dev.fourtuple.gateway.config;

/** RFC 9110 §5.6.2 tokens, as config values that become header or cookie names must be. */
final class ConfigTokens {
    private static final String DELIMITERS = "\"(),/:;<=>?@[\\]{}";

    private ConfigTokens() {
    }

    /** tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
    static boolean isToken(String text) {
        if (text.isEmpty()) {
            return false;
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c <= 0x20 || c >= 0x7f || DELIMITERS.indexOf(c) >= 0) {
                return false;
            }
        }
        return true;
    }
}
