package dev.fourtuple.gateway.upstream;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Which SRV records of an answer are used, and with what backend weight
 * (<a href="https://www.rfc-editor.org/rfc/rfc2782">RFC 2782</a>).
 *
 * <p>Only the lowest priority present is used: the others are fallbacks for when it is unreachable, which the
 * gateway's health handling covers among the records it uses. Among those, SRV weights (0..65535) become
 * backend weights (1..256) in proportion: the heaviest record gets 256, the others their share of it,
 * rounded, at least 1. Proportional to the heaviest rather than to 65535, because an absolute scale would
 * flatten the small weights operators write (1 and 3 would both become 1). A weight of 0 (RFC 2782: "a very
 * small chance of being selected" when others have more) gets 1; when every record has 0, all share equally.
 */
final class SrvWeights {
    /** Heaviest backend weight an SRV record gets (the Cluster's maximum). */
    static final int MAX = 256;

    private SrvWeights() {
    }

    /** A record of the lowest priority with its backend weight. */
    record Weighted(SrvRecord record, int weight) {
    }

    /**
     * The records of the lowest priority present, heaviest first, each with its backend weight; at most
     * {@code limit} of them (the heaviest).
     */
    static List<Weighted> select(List<SrvRecord> records, int limit) {
        int lowest = Integer.MAX_VALUE;
        for (SrvRecord record : records) {
            lowest = Math.min(lowest, record.priority());
        }
        List<SrvRecord> chosen = new ArrayList<>();
        int heaviest = 0;
        for (SrvRecord record : records) {
            if (record.priority() == lowest) {
                chosen.add(record);
                heaviest = Math.max(heaviest, record.weight());
            }
        }
        chosen.sort(Comparator.comparingInt(SrvRecord::weight).reversed());
        List<Weighted> weighted = new ArrayList<>();
        for (SrvRecord record : chosen.subList(0, Math.min(limit, chosen.size()))) {
            weighted.add(new Weighted(record, weight(record.weight(), heaviest)));
        }
        return weighted;
    }

    /** {@code weight} (0..65535) as a backend weight 1..256, in proportion to {@code heaviest} of its priority. */
    static int weight(int weight, int heaviest) {
        if (heaviest <= 0) {
            return 1;
        }
        long scaled = Math.round((double) weight * MAX / heaviest);
        return (int) Math.max(1, Math.min(MAX, scaled));
    }
}
