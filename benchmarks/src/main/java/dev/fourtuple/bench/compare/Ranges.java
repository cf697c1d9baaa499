package dev.fourtuple.bench.compare;

import java.util.List;

/**
 * A figure over several runs as one table cell: a single run's value as it is, several runs' as "min–max". On a
 * shared machine one run's figure may be a lucky or an unlucky one; the range says how far to trust it.
 * A unit both ends share is written once: "1.2–1.4 KB".
 */
final class Ranges {
    private Ranges() {
    }

    /** {@code "-"} for no value; NaN values (a figure a run did not have) are left out. */
    static String of(List<Double> values, String format) {
        List<Double> known = values.stream().filter(v -> !v.isNaN()).toList();
        if (known.isEmpty()) {
            return "-";
        }
        String min = format.formatted(known.stream().mapToDouble(Double::doubleValue).min().orElseThrow());
        String max = format.formatted(known.stream().mapToDouble(Double::doubleValue).max().orElseThrow());
        if (min.equals(max)) {
            return min;
        }
        String unit = unit(min, max);
        return min.substring(0, min.length() - unit.length()) + "–" + max;
    }

    /** The unit both end with (" KB", " ms"), written once: "1.2–1.4 KB". */
    private static String unit(String a, String b) {
        int n = 0;
        while (n < Math.min(a.length(), b.length()) && a.charAt(a.length() - 1 - n) == b.charAt(b.length() - 1 - n)
                && !Character.isDigit(a.charAt(a.length() - 1 - n))) {
            n++;
        }
        return a.substring(a.length() - n);
    }

    /** The middle value (the mean of the middle two for an even count), for a chart's one bar per proxy. */
    static double median(List<Double> values) {
        List<Double> sorted = values.stream().filter(v -> !v.isNaN()).sorted().toList();
        if (sorted.isEmpty()) {
            return 0;
        }
        int middle = sorted.size() / 2;
        return sorted.size() % 2 == 1 ? sorted.get(middle) : (sorted.get(middle - 1) + sorted.get(middle)) / 2;
    }
}
