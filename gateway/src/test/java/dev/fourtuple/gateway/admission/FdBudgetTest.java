package dev.fourtuple.gateway.admission;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class FdBudgetTest {

    @Test
    void freeIsTheLimitLessTheConnectionsAndTheRest() {
        AtomicLong charged = new AtomicLong();
        FdBudget budget = new FdBudget(1000, charged::get, 50);
        assertThat(budget.free()).isEqualTo(950);
        charged.set(200);
        assertThat(budget.free()).isEqualTo(750);
        assertThat(budget.others()).isEqualTo(50);
    }

    @Test
    void aOneSampleSpikeInTheOtherFdsIsIgnoredButALastingRiseIsTaken() {
        AtomicLong charged = new AtomicLong(100);
        FdBudget budget = new FdBudget(1000, charged::get, 150); // 50 others
        budget.reconcile(400); // a burst: 250 fds not (yet) counted by the connections' counters
        assertThat(budget.others()).isEqualTo(50);
        budget.reconcile(160); // the burst is over: 60 others
        assertThat(budget.others()).isEqualTo(60);
        budget.reconcile(180);
        budget.reconcile(180); // 80 others, twice: a real rise (jars, logs)
        assertThat(budget.others()).isEqualTo(80);
    }

    @Test
    void aDropIsTakenAtOnce() {
        AtomicLong charged = new AtomicLong(0);
        FdBudget budget = new FdBudget(1000, charged::get, 90);
        budget.reconcile(40);
        assertThat(budget.others()).isEqualTo(40);
        assertThat(budget.free()).isEqualTo(960);
    }
}
