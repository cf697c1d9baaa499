package dev.fourtuple.gateway.config;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigIncludeContext;
import com.typesafe.config.ConfigIncluder;
import com.typesafe.config.ConfigIncluderClasspath;
import com.typesafe.config.ConfigIncluderFile;
import com.typesafe.config.ConfigIncluderURL;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseable;
import java.io.File;
import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * An includer that follows which file includes which while Typesafe Config parses, so that an
 * {@code include required(...)} that cannot be read is reported where it is written: {@code FILE:LINE} of the
 * include statement. Typesafe Config 1.4.5 reports it as a {@code ConfigException.IO} whose origin is only
 * the name that was not found (no including file, no line), and for an include nested in an included file
 * the message does not even name the file it was in.
 *
 * <p>Every include still goes to Typesafe's own includer (the fallback it installs), so what is found where
 * does not change; this only watches. The line comes from the including file's text: the first include
 * statement of that kind naming that name, outside a comment; when none matches (a name written with
 * escapes), the problem names the file without a line.
 *
 * <p>Concurrency note: one trail per parse, used by the parsing thread only.
 */
final class IncludeTrail implements ConfigIncluder, ConfigIncluderFile, ConfigIncluderURL, ConfigIncluderClasspath {
    private static final List<String> SUFFIXES = List.of(".conf", ".json", ".properties");

    /** A file being parsed: its name as origins show it, and where its text is (a file, or the text itself). */
    private record Source(String name, @Nullable Path file, @Nullable String text) {

        static Source file(Path file, String name) {
            return new Source(name, file, null);
        }

        static Source opaque(String name) {
            return new Source(name, null, null);
        }

        @Nullable String read() {
            if (text != null || file == null) {
                return text;
            }
            try {
                return Files.readString(file, StandardCharsets.UTF_8);
            } catch (IOException | RuntimeException e) {
                return null;
            }
        }
    }

    /** What both the trail and its copies (one per fallback Typesafe appends) share. */
    private static final class State {
        final Deque<Source> parsing = new ArrayDeque<>();
        @Nullable ConfigProblem failure;
    }

    private final State state;
    private final @Nullable ConfigIncluder fallback;

    private IncludeTrail(State state, @Nullable ConfigIncluder fallback) {
        this.state = state;
        this.fallback = fallback;
    }

    /** A trail whose top file is {@code file}, shown as {@code name}. */
    static IncludeTrail ofFile(Path file, String name) {
        return start(Source.file(file, name));
    }

    /** A trail whose top is config text (no file), shown as {@code name}. */
    static IncludeTrail ofText(String text, String name) {
        return start(new Source(name, null, text));
    }

    private static IncludeTrail start(Source top) {
        State state = new State();
        state.parsing.push(top);
        return new IncludeTrail(state, null);
    }

    /**
     * The first required include that could not be read, as a problem at its include statement; null when
     * every include was read. Check it even when parsing succeeded: Typesafe Config can swallow the failure
     * of a required include inside a file it included by a name without suffix, and drop that file's keys.
     */
    @Nullable ConfigProblem failure() {
        return state.failure;
    }

    @Override
    public ConfigIncluder withFallback(ConfigIncluder next) {
        if (next == this || next == fallback) {
            return this;
        }
        return new IncludeTrail(state, fallback == null ? next : fallback.withFallback(next));
    }

    @Override
    public ConfigObject include(ConfigIncludeContext context, String what) {
        ConfigParseable target = context.relativeTo(hasSuffix(what) ? what : what + ".conf");
        String targetFile = target == null ? null : target.origin().filename();
        Source included = targetFile == null ? Source.opaque(what) : Source.file(Path.of(targetFile), targetFile);
        Source includer = state.parsing.peek();
        return follow(included, "", what, () -> expectedFor(includer, what), () -> {
            if (fallback == null) {
                throw new ConfigException.BugOrBroken("no includer to fall back to for " + what);
            }
            return fallback.include(context, what);
        });
    }

    @Override
    public ConfigObject includeFile(ConfigIncludeContext context, File what) {
        return follow(Source.file(what.toPath(), what.getPath()), "file", what.getPath(),
                () -> "a readable file " + what.getAbsolutePath() + " (file() is relative to the working directory)",
                () -> fallback instanceof ConfigIncluderFile files ? files.includeFile(context, what)
                        : ConfigFactory.parseFileAnySyntax(what, context.parseOptions()).root());
    }

    @Override
    public ConfigObject includeURL(ConfigIncludeContext context, URL what) {
        Source included = Source.opaque(what.toString());
        if ("file".equals(what.getProtocol())) {
            try {
                included = Source.file(Path.of(what.toURI()), Path.of(what.toURI()).toString());
            } catch (URISyntaxException | RuntimeException e) {
                // not a path: its includes are reported without a line
            }
        }
        return follow(included, "url", what.toString(), () -> "a readable URL",
                () -> fallback instanceof ConfigIncluderURL urls ? urls.includeURL(context, what)
                        : ConfigFactory.parseURL(what, context.parseOptions()).root());
    }

    @Override
    public ConfigObject includeResources(ConfigIncludeContext context, String what) {
        return follow(Source.opaque(what), "classpath", what, () -> "a resource " + what + " on the classpath",
                () -> fallback instanceof ConfigIncluderClasspath resources
                        ? resources.includeResources(context, what)
                        : ConfigFactory.parseResourcesAnySyntax(what, context.parseOptions()).root());
    }

    /** Parses an included source with it on top of the trail; a failed read becomes the problem. */
    private ConfigObject follow(Source included, String kind, String name, Supplier<String> expected,
            Supplier<ConfigObject> parse) {
        Source includer = state.parsing.peek();
        state.parsing.push(included);
        try {
            return parse.get();
        } catch (ConfigException.IO e) {
            // The innermost include fails first; the includes around it fail because of it.
            if (state.failure == null && includer != null) {
                String statement = kind.isEmpty() ? quote(name) : kind + "(" + quote(name) + ")";
                int line = lineOf(includer.read(), kind, name);
                state.failure = new ConfigProblem(line > 0 ? includer.name() + ":" + line : includer.name(),
                        "include", "required(" + statement + ")", expected.get());
            }
            throw e;
        } finally {
            state.parsing.pop();
        }
    }

    /**
     * Where Typesafe's heuristic include looks: a URL as a URL; otherwise next to the including file (when that
     * is a file), then on the classpath.
     */
    private static String expectedFor(@Nullable Source includer, String what) {
        try {
            new URL(what);
            return "a readable URL";
        } catch (MalformedURLException e) {
            // a name: as below
        }
        String resource = "a resource " + what + " on the classpath";
        if (includer == null || includer.file() == null) {
            return resource;
        }
        String names = hasSuffix(what) ? what : what + ".conf, .json or .properties";
        Path parent = includer.file().getParent();
        return "a readable file " + (parent == null || new File(what).isAbsolute() ? names : parent.resolve(names))
                + ", or " + resource;
    }

    private static boolean hasSuffix(String name) {
        return SUFFIXES.stream().anyMatch(name::endsWith);
    }

    private static String quote(String name) {
        return "\"" + name.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /** 1-based line of the first {@code include required(kind("name"))} outside a comment; 0 when none. */
    static int lineOf(@Nullable String text, String kind, String name) {
        if (text == null) {
            return 0;
        }
        String target = Pattern.quote(quote(name));
        Pattern statement = Pattern.compile("(?<![A-Za-z0-9_-])include\\s+required\\s*\\(\\s*"
                + (kind.isEmpty() ? target : kind + "\\s*\\(\\s*" + target));
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            Matcher m = statement.matcher(withoutComment(lines[i]));
            if (m.find()) {
                return i + 1;
            }
        }
        return 0;
    }

    /** The line up to a {@code #} or {@code //} comment that is not inside a quoted string. */
    private static String withoutComment(String line) {
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted && c == '\\') {
                i++;
            } else if (c == '"') {
                quoted = !quoted;
            } else if (!quoted && (c == '#' || (c == '/' && i + 1 < line.length() && line.charAt(i + 1) == '/'))) {
                return line.substring(0, i);
            }
        }
        return line;
    }
}
