package dev.fourtuple.gateway;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * The command line, parsed by hand. Each {@link Command} names the flags and arguments it takes; anything else
 * (an unknown or misplaced flag, a flag without its value, a flag given twice, an argument too many) is a
 * {@link UsageException} that names the word, never something silently ignored. {@code -h} or {@code --help}
 * anywhere after the command asks for that command's usage and wins over every other word.
 *
 * <p>Rules: {@code --flag VALUE} and {@code --flag=VALUE} are the same; a word that starts with {@code -} is
 * never taken as a flag's value (so {@code --config --json} is a missing value, not a file named
 * {@code --json}); there is no {@code --} terminator, no command takes an argument that starts with {@code -}.
 */
final class CommandLine {
    private static final String HELP = "-h, --help";

    private CommandLine() {
    }

    /** A flag: {@code --name VALUE} when it has a value placeholder (FILE, DIR), else a switch. */
    record Flag(String name, @Nullable String value, String help) {

        String synopsis() {
            return value == null ? name : name + " " + value;
        }
    }

    /**
     * A command and all it accepts.
     *
     * @param synopsis  what follows the command's name in its usage line, e.g. {@code --config FILE [--json]}
     * @param arguments the positional arguments' placeholders, e.g. {@code IP:PORT [NAME]}, or ""
     * @param argumentsHelp what the arguments mean, for the usage text
     */
    record Command(String name, String synopsis, String summary, List<Flag> flags, String arguments,
            String argumentsHelp, int minArguments, int maxArguments) {

        Command {
            flags = List.copyOf(flags);
        }

        @Nullable Flag flag(String name) {
            for (Flag flag : flags) {
                if (flag.name().equals(name)) {
                    return flag;
                }
            }
            return null;
        }

        /** The "(expected: ...)" list: every word this command takes. */
        String accepted() {
            List<String> words = new ArrayList<>();
            if (!arguments.isEmpty()) {
                words.add(arguments);
            }
            flags.forEach(flag -> words.add(flag.synopsis()));
            words.add("--help");
            return String.join(", ", words);
        }

        /** The usage text {@code --help} prints. */
        String usage() {
            StringBuilder text = new StringBuilder("usage: fourtuple ").append(name);
            if (!synopsis.isEmpty()) {
                text.append(' ').append(synopsis);
            }
            text.append('\n').append(summary).append("\n\n");
            List<String[]> rows = new ArrayList<>();
            if (!arguments.isEmpty()) {
                rows.add(new String[] {arguments, argumentsHelp});
            }
            flags.forEach(flag -> rows.add(new String[] {flag.synopsis(), flag.help()}));
            rows.add(new String[] {HELP, "this help"});
            int width = rows.stream().mapToInt(row -> row[0].length()).max().orElse(0) + 3;
            for (String[] row : rows) {
                text.append("  ").append(row[0]).append(" ".repeat(width - row[0].length())).append(row[1]).append('\n');
            }
            return text.toString();
        }
    }

    /** What one command line said. */
    record Parsed(boolean help, Map<String, String> values, Set<String> switches, List<String> arguments) {

        /** The value of a flag with a value, or null when the flag was not given. */
        @Nullable String value(String flag) {
            return values.get(flag);
        }

        /** Whether a switch was given. */
        boolean has(String flag) {
            return switches.contains(flag);
        }
    }

    static boolean isHelp(String word) {
        return word.equals("-h") || word.equals("--help");
    }

    /** Parses the words after the command's name. */
    static Parsed parse(Command command, List<String> words) {
        if (words.stream().anyMatch(CommandLine::isHelp)) {
            return new Parsed(true, Map.of(), Set.of(), List.of());
        }
        Map<String, String> values = new LinkedHashMap<>();
        Set<String> switches = new LinkedHashSet<>();
        List<String> arguments = new ArrayList<>();
        for (int i = 0; i < words.size(); i++) {
            String word = words.get(i);
            if (!isFlagLike(word)) {
                if (arguments.size() == command.maxArguments()) {
                    throw new UsageException(command, command.name() + ": unexpected argument: " + word
                            + " (expected: " + command.accepted() + ")");
                }
                arguments.add(word);
                continue;
            }
            int equals = word.indexOf('=');
            String name = equals < 0 ? word : word.substring(0, equals);
            Flag flag = command.flag(name);
            if (flag == null) {
                throw new UsageException(command, command.name() + ": unknown flag: " + name
                        + " (expected: " + command.accepted() + ")");
            }
            if (values.containsKey(name) || switches.contains(name)) {
                throw new UsageException(command, command.name() + ": " + name + ": given twice (expected: one "
                        + flag.synopsis() + ")");
            }
            if (flag.value() == null) {
                if (equals >= 0) {
                    throw new UsageException(command, command.name() + ": " + word + ": takes no value (expected: "
                            + name + ")");
                }
                switches.add(name);
                continue;
            }
            String value;
            if (equals >= 0) {
                value = word.substring(equals + 1);
            } else if (i + 1 < words.size() && !isFlagLike(words.get(i + 1))) {
                value = words.get(++i);
            } else {
                value = "";
            }
            if (value.isEmpty()) {
                throw new UsageException(command, command.name() + ": " + name + ": missing value (expected: "
                        + flag.synopsis() + ")");
            }
            values.put(name, value);
        }
        if (arguments.size() < command.minArguments()) {
            throw new UsageException(command, command.name() + ": missing argument (expected: "
                    + command.arguments() + ")");
        }
        return new Parsed(false, values, switches, arguments);
    }

    /** The global usage: one line per command. */
    static String usage(List<Command> commands) {
        List<String[]> rows = new ArrayList<>();
        for (Command command : commands) {
            String line = "fourtuple " + (command.name().equals("run") ? "[run]" : command.name())
                    + (command.synopsis().isEmpty() ? "" : " " + command.synopsis());
            rows.add(new String[] {line, command.summary()});
        }
        rows.add(new String[] {"fourtuple COMMAND --help", "the flags of one command"});
        int width = rows.stream().mapToInt(row -> row[0].length()).max().orElse(0) + 3;
        return rows.stream()
                .map(row -> row[0] + " ".repeat(width - row[0].length()) + row[1])
                .collect(Collectors.joining("\n       ", "usage: ", "\n"));
    }

    private static boolean isFlagLike(String word) {
        return word.length() > 1 && word.startsWith("-");
    }

    /** Bad usage: exit 2 with the message and the usage of {@link #command} (or the global usage). */
    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        private final transient @Nullable Command command;

        UsageException(@Nullable Command command, String message) {
            super(message);
            this.command = command;
        }

        @Nullable Command command() {
            return command;
        }
    }
}
