package dev.fourtuple.gateway.config;

import java.util.List;
import java.util.stream.Collectors;

/** Thrown when a configuration is invalid; carries every problem found, not just the first. */
public final class ConfigProblems extends Exception {
    private static final long serialVersionUID = 1L;

    private final transient List<ConfigProblem> problems;

    ConfigProblems(List<ConfigProblem> problems) {
        super(problems.stream().map(ConfigProblem::toString).collect(Collectors.joining("\n")));
        this.problems = List.copyOf(problems);
    }

    /** Every problem, in the order found (file order, mostly). */
    public List<ConfigProblem> problems() {
        return problems;
    }
}
