package dev.fourtuple.gateway.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * One HOCON object being mapped to a record. Every typed getter records a problem instead of throwing, and
 * remembers which keys it was asked for, so that {@link #rejectUnknownKeys()} can name every key nobody
 * asked for: the typos that {@code Config.checkValid} does not catch.
 *
 * <p>Getters return a harmless placeholder after recording a problem so that mapping can go on and find the
 * next problem; the caller throws {@link ConfigProblems} at the end if any were recorded.
 */
final class ConfigSection {
    private static final ConfigRenderOptions CONCISE = ConfigRenderOptions.concise();
    private static final String OFF = "off";
    private static final Pattern TRAILING_LINE = Pattern.compile(": [0-9]+$");
    private static final Pattern PERCENT = Pattern.compile("([0-9]+(?:\\.[0-9]+)?)\\s*%");

    /** Origin description given to reference.conf, so its values can be told from the user's. */
    static final String REFERENCE_ORIGIN = "reference.conf (defaults)";

    private final ConfigObject object;
    private final Config config;
    private final String path;
    private final String home;
    private final List<ConfigProblem> problems;
    private final boolean quiet;
    private final Set<String> known = new HashSet<>();

    /**
     * @param home where a problem is reported when it has no value of the user's to point at (a missing
     *             key, or a default that does not fit): the user's file, or the user's object
     */
    ConfigSection(ConfigObject object, String path, String home, List<ConfigProblem> problems) {
        this(object, path, home, problems, false);
    }

    private ConfigSection(ConfigObject object, String path, String home, List<ConfigProblem> problems,
            boolean quiet) {
        this.object = object;
        this.config = object.toConfig();
        this.path = path;
        this.home = home;
        this.problems = problems;
        this.quiet = quiet;
    }

    /** Where problems without a value of the user's are reported. */
    String home() {
        return home;
    }

    /** Full path of a key of this section, for messages. */
    /** Where this section's problems go (a nested object parsed on its own reports into the same list). */
    List<ConfigProblem> problems() {
        return problems;
    }

    String pathOf(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    /** A value that must be present (the reference supplies one for every optional key). */
    @Nullable ConfigValue value(String key) {
        known.add(key);
        ConfigValue value = object.get(key);
        if (value == null || value.valueType() == ConfigValueType.NULL) {
            if (!quiet) {
                problems.add(new ConfigProblem(home, pathOf(key), "(missing)", "a value"));
            }
            return null;
        }
        return value;
    }

    /** A value that may be absent. */
    @Nullable ConfigValue optionalValue(String key) {
        known.add(key);
        ConfigValue value = object.get(key);
        return value == null || value.valueType() == ConfigValueType.NULL ? null : value;
    }

    String string(String key, String fallback) {
        ConfigValue value = value(key);
        if (value == null) {
            return fallback;
        }
        if (value.valueType() != ConfigValueType.STRING) {
            problem(key, value, "a string");
            return fallback;
        }
        return (String) value.unwrapped();
    }

    boolean bool(String key) {
        ConfigValue value = value(key);
        if (value == null) {
            return false;
        }
        try {
            return config.getBoolean(quoted(key));
        } catch (ConfigException.WrongType e) {
            problem(key, value, "true or false");
            return false;
        }
    }

    int integer(String key, int min, int max) {
        ConfigValue value = value(key);
        if (value == null) {
            return min;
        }
        return checkedInt(key, value, min, max, min + ".." + max);
    }

    /** An integer, or the word {@code auto} which maps to 0. */
    int integerOrAuto(String key, int min, int max) {
        ConfigValue value = value(key);
        if (value == null) {
            return 0;
        }
        if (isWord(value, "auto")) {
            return 0;
        }
        return checkedInt(key, value, min, max, "auto or " + min + ".." + max);
    }

    private int checkedInt(String key, ConfigValue value, int min, int max, String expected) {
        try {
            int n = config.getInt(quoted(key));
            if (n < min || n > max) {
                problem(key, value, expected);
                return min;
            }
            return n;
        } catch (ConfigException.WrongType e) {
            problem(key, value, expected);
            return min;
        }
    }

    /** An integer in [min, max], or the word {@code word} ("off", "auto") which maps to 0. */
    int integerOr(String word, String key, int min, int max) {
        ConfigValue value = value(key);
        if (value == null || isWord(value, word)) {
            return 0;
        }
        return checkedInt(key, value, min, max, word + " or " + min + ".." + max);
    }

    /** A percentage "90%" as a fraction 0..1. */
    double fraction(String key) {
        ConfigValue value = value(key);
        if (value == null) {
            return 0;
        }
        if (value.valueType() == ConfigValueType.STRING) {
            Matcher m = PERCENT.matcher(((String) value.unwrapped()).trim());
            if (m.matches()) {
                double percent = Double.parseDouble(m.group(1));
                if (percent <= 100) {
                    return percent / 100;
                }
            }
        }
        problem(key, value, "a percentage from \"0%\" to \"100%\"");
        return 0;
    }

    /** A duration within [min, max]; {@code off} maps to {@link Duration#ZERO} when allowed. */
    Duration duration(String key, Duration min, Duration max, boolean offAllowed) {
        ConfigValue value = value(key);
        return value == null ? min : checkedDuration(key, value, min, max, offAllowed);
    }

    /** Like {@link #duration} but the key may be absent: null then. */
    @Nullable Duration optionalDuration(String key, Duration min, Duration max, boolean offAllowed) {
        ConfigValue value = optionalValue(key);
        return value == null ? null : checkedDuration(key, value, min, max, offAllowed);
    }

    private Duration checkedDuration(String key, ConfigValue value, Duration min, Duration max, boolean offAllowed) {
        String expected = (offAllowed ? "off, or " : "") + "a duration from " + human(min) + " to " + human(max);
        if (offAllowed && isWord(value, OFF)) {
            return Duration.ZERO;
        }
        try {
            Duration d = config.getDuration(quoted(key));
            if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
                problem(key, value, expected);
                return min;
            }
            return d;
        } catch (ConfigException.BadValue | ConfigException.WrongType e) {
            problem(key, value, expected);
            return min;
        }
    }

    /** A size in bytes within [min, max]; {@code off} maps to {@link Long#MAX_VALUE} when allowed. */
    long bytes(String key, long min, long max, boolean offAllowed) {
        ConfigValue value = value(key);
        if (value == null) {
            return min;
        }
        if (offAllowed && isWord(value, OFF)) {
            return Long.MAX_VALUE;
        }
        return checkedBytes(key, value, min, max, (offAllowed ? "off, or " : "") + sizes(min, max));
    }

    /** A size in bytes within [min, max], or the word {@code word} ("auto") which maps to 0. */
    long bytesOr(String word, String key, long min, long max) {
        ConfigValue value = value(key);
        if (value == null || isWord(value, word)) {
            return 0;
        }
        return checkedBytes(key, value, min, max, word + ", or " + sizes(min, max));
    }

    private static String sizes(long min, long max) {
        return "a size from " + min + "B to " + max + "B, e.g. 64KiB";
    }

    private long checkedBytes(String key, ConfigValue value, long min, long max, String expected) {
        try {
            long n = config.getBytes(quoted(key));
            if (n < min || n > max) {
                problem(key, value, expected);
                return min;
            }
            return n;
        } catch (ConfigException.BadValue | ConfigException.WrongType e) {
            problem(key, value, expected);
            return min;
        }
    }

    /** One of an enum's {@link ConfigWord} spellings. */
    <E extends Enum<E> & ConfigWord> E enumValue(String key, Class<E> type, E fallback) {
        ConfigValue value = value(key);
        if (value == null) {
            return fallback;
        }
        if (value.valueType() == ConfigValueType.STRING) {
            String word = ((String) value.unwrapped()).trim();
            for (E constant : type.getEnumConstants()) {
                if (constant.word().equals(word)) {
                    return constant;
                }
            }
        }
        List<String> words = new ArrayList<>();
        for (E constant : type.getEnumConstants()) {
            words.add(constant.word());
        }
        problem(key, value, String.join(" | ", words));
        return fallback;
    }

    /** A nested object; a problem and an empty section when the value is not an object. */
    ConfigSection section(String key) {
        ConfigValue value = value(key);
        if (value instanceof ConfigObject nested) {
            return new ConfigSection(nested, pathOf(key), home, problems);
        }
        if (value != null) {
            problem(key, value, "an object { ... }");
        }
        // Already reported once: the keys it lacks are not further problems.
        return new ConfigSection(ConfigFactory.empty().root(), pathOf(key), home, problems, true);
    }

    /** A list value; a problem and an empty list when the value is not a list. */
    List<ConfigValue> list(String key) {
        ConfigValue value = value(key);
        if (value == null) {
            return List.of();
        }
        if (value.valueType() != ConfigValueType.LIST) {
            problem(key, value, "a list [ ... ]");
            return List.of();
        }
        return config.getList(quoted(key));
    }

    /** The keys of this object, for map-like sections such as {@code clusters}. */
    Set<String> keys() {
        return object.keySet();
    }

    ConfigObject object() {
        return object;
    }

    /** Whether the user wrote the value at {@code key} (false for a reference.conf default or no value). */
    boolean written(String key) {
        ConfigValue value = object.get(key);
        return value != null && !locate(value.origin()).startsWith(REFERENCE_ORIGIN);
    }

    /**
     * Records a problem with the value at {@code key} of this section. A value the user did not write (a
     * default that does not fit, such as the empty route list) is reported at this section's home.
     */
    void problem(String key, ConfigValue value, String expected) {
        String location = locate(value.origin());
        if (location.startsWith(REFERENCE_ORIGIN)) {
            location = home;
        }
        problems.add(new ConfigProblem(location, pathOf(key), render(value), expected));
    }

    /** Records a problem for every key of this object that no getter asked for. */
    void rejectUnknownKeys() {
        for (String key : new TreeSet<>(object.keySet())) {
            if (!known.contains(key)) {
                ConfigValue value = object.get(key);
                problems.add(new ConfigProblem(locate(value.origin()), pathOf(key), render(value),
                        "no such key" + suggestion(key)));
            }
        }
    }

    private String suggestion(String key) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : known) {
            int distance = levenshtein(key, candidate);
            if (distance < bestDistance) {
                bestDistance = distance;
                best = candidate;
            }
        }
        if (best != null && bestDistance <= Math.max(2, key.length() / 3)) {
            return "; did you mean " + best + "?";
        }
        return known.isEmpty() ? "" : "; known keys: " + String.join(", ", new TreeSet<>(known));
    }

    private static int levenshtein(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }

    private static boolean isWord(ConfigValue value, String word) {
        return value.valueType() == ConfigValueType.STRING && word.equals(((String) value.unwrapped()).trim());
    }

    private static String quoted(String key) {
        return ConfigUtil.joinPath(key);
    }

    static String render(ConfigValue value) {
        return value.render(CONCISE);
    }

    /** "FILE:LINE" of an origin. */
    static String locate(ConfigOrigin origin) {
        String name = origin.filename();
        if (name == null) {
            name = origin.resource();
        }
        if (name == null) {
            // A parsed string or URL: the description is "NAME" or "NAME: LINE"; keep the name.
            name = TRAILING_LINE.matcher(origin.description()).replaceFirst("");
        }
        return origin.lineNumber() > 0 ? name + ":" + origin.lineNumber() : name;
    }

    private static String human(Duration d) {
        if (d.toDays() > 0 && d.equals(Duration.ofDays(d.toDays()))) {
            return d.toDays() + "d";
        }
        if (d.toHours() > 0 && d.equals(Duration.ofHours(d.toHours()))) {
            return d.toHours() + "h";
        }
        if (d.toMinutes() > 0 && d.equals(Duration.ofMinutes(d.toMinutes()))) {
            return d.toMinutes() + "m";
        }
        if (d.toSeconds() > 0 && d.equals(Duration.ofSeconds(d.toSeconds()))) {
            return d.toSeconds() + "s";
        }
        return d.toMillis() + "ms";
    }
}
