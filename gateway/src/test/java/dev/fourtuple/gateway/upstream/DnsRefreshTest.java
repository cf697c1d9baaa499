package dev.fourtuple.gateway.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import dev.fourtuple.gateway.config.DnsSettings;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class DnsRefreshTest {
    private static final DnsSettings SETTINGS = new DnsSettings(List.of(), Duration.ofSeconds(30),
            Duration.ofSeconds(1), Duration.ofSeconds(2));

    @Test
    void anAnswerIsAskedAgainAfterItsTtlWhenThatIsShorterThanMaxRefresh() {
        assertThat(DnsRefresh.planned(SETTINGS, 5, 0)).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void aLongTtlIsCutToMaxRefresh() {
        assertThat(DnsRefresh.planned(SETTINGS, 86_400, 0)).isEqualTo(Duration.ofSeconds(30));
        assertThat(DnsRefresh.planned(SETTINGS, 4_294_967_295L, 0)).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void aTtlOfZeroWaitsMinRefresh() {
        assertThat(DnsRefresh.planned(SETTINGS, 0, 0)).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void aFailureWithALastGoodAnswerRetriesOnThatAnswersSchedule() {
        assertThat(DnsRefresh.planned(SETTINGS, 5, 3)).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void aNameThatNeverAnsweredBacksOffFromMinToMaxRefresh() {
        assertThat(DnsRefresh.planned(SETTINGS, -1, 1)).isEqualTo(Duration.ofSeconds(1));
        assertThat(DnsRefresh.planned(SETTINGS, -1, 2)).isEqualTo(Duration.ofSeconds(2));
        assertThat(DnsRefresh.planned(SETTINGS, -1, 5)).isEqualTo(Duration.ofSeconds(16));
        assertThat(DnsRefresh.planned(SETTINGS, -1, 6)).isEqualTo(Duration.ofSeconds(30));
        assertThat(DnsRefresh.planned(SETTINGS, -1, 1_000)).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void jitterStaysWithinTenPercent() {
        Duration planned = Duration.ofSeconds(10);
        assertThat(DnsRefresh.jitteredNanos(planned, 0.0)).isEqualTo(9_000_000_000L);
        assertThat(DnsRefresh.jitteredNanos(planned, 0.5)).isEqualTo(10_000_000_000L);
        assertThat(DnsRefresh.jitteredNanos(planned, 0.999_999)).isBetween(10_999_000_000L, 11_000_000_000L);
    }
}
