package dev.fourtuple.gateway.testing;

/** Config texts that tests share. */
public final class TestConfigs {
    /** The smallest valid config: a listener, one cluster of one backend, one route. Three lines. */
    public static final String ONE_CLUSTER = """
            listen = "127.0.0.1:8080"
            clusters { echo { backends = ["127.0.0.1:9001"] } }
            routes = [ { cluster = echo } ]
            """;

    private TestConfigs() {
    }
}
