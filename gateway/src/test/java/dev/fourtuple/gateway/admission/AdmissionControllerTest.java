package dev.fourtuple.gateway.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AdmissionController} on a fixture {@code /proc}: a soft limit of 400 fds and 21 entries in
 * {@code self/fd}, so 20 fds belong to the process (the listing's own fd is not counted) and 380 are free
 * before any connection. The auto reserve is then max(64, 1% of 400) = 64 and the auto hard floor
 * max(16, 64 / 4) = 16.
 *
 * <p>The gateway's own fds are driven through the {@code upstream} supplier (each upstream connection beyond
 * one per admitted client is charged one fd) and through {@link AdmissionController#admitted} (2 fds per
 * client). The slow gauges are re-read only when a test calls {@link AdmissionController#refresh()}.
 */
class AdmissionControllerTest {
    private static final long LIMIT = 400;
    private static final long BASELINE = 20;
    private static final long RESERVE = 64;
    private static final long HARD_FLOOR = 16;

    @TempDir
    Path dir;
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final AtomicLong upstream = new AtomicLong();
    private final List<AdmissionController> controllers = new ArrayList<>();
    private final List<EmbeddedChannel> channels = new ArrayList<>();
    private ProcFixture fixture;

    @BeforeEach
    void fixture() {
        fixture = ProcFixture.create(dir, LIMIT, (int) BASELINE + 1);
    }

    @AfterEach
    void closeAll() {
        controllers.forEach(AdmissionController::close);
        for (EmbeddedChannel channel : channels) {
            assertThat(channel.finishAndReleaseAll()).isFalse();
        }
    }

    private AdmissionController controller(String keys) {
        AdmissionController controller = new AdmissionController(ProcFixture.settings(keys), registry,
                upstream::get, fixture.proc, fixture.cgroup);
        controllers.add(controller);
        return controller;
    }

    /**
     * Sets the upstream connection count so that {@code free} fds remain: admitted clients are charged for
     * themselves and their backend connection, so each upstream connection beyond those costs one more.
     */
    private void free(AdmissionController controller, long free) {
        long clients = controller.admittedConnections();
        upstream.set(clients + LIMIT - BASELINE - free - 2 * clients);
        assertThat(controller.freeFds()).as("fixture arithmetic").isEqualTo(free);
    }

    private EmbeddedChannel admit(AdmissionController controller) {
        EmbeddedChannel child = new EmbeddedChannel();
        channels.add(child);
        controller.admitted(child);
        return child;
    }

    private double refusedCount(String reason) {
        return registry.get("fourtuple.admission.refused").tag("reason", reason).counter().count();
    }

    private double state() {
        return registry.get("fourtuple.admission.state").gauge().value();
    }

    @Test
    void theBaselineIsTheProcessFdsCountedAtStart() {
        AdmissionController controller = controller("");

        assertThat(controller.freeFds()).isEqualTo(LIMIT - BASELINE);
        assertThat(controller.headroom(Resource.FDS)).isEqualTo((double) (LIMIT - BASELINE) / LIMIT);
        assertThat(controller.check()).isNull();
        assertThat(controller.shedding()).isFalse();
    }

    @Test
    void admitsWhileMoreThanTheReserveIsFree() {
        AdmissionController controller = controller("");

        free(controller, 200);
        assertThat(controller.check()).isNull();
        free(controller, RESERVE + 1);
        assertThat(controller.check()).isNull();
        assertThat(controller.shedding()).isFalse();
    }

    @Test
    void exactlyTheReserveFreeIsStillAdmitted() {
        AdmissionController controller = controller("");

        free(controller, RESERVE);

        // reference.conf: "Shedding starts when fewer remain"; AdmissionController: "Shed with fewer than
        // reserve free".
        assertThat(controller.check()).as("%d fds free, reserve %d: not fewer than the reserve", RESERVE, RESERVE)
                .isNull();
    }

    @Test
    void shedsFdsOnceFewerThanTheReserveRemain() {
        AdmissionController controller = controller("");

        free(controller, RESERVE - 1);

        assertThat(controller.check()).isEqualTo(Resource.FDS);
        assertThat(controller.shedding()).isTrue();
    }

    @Test
    void keepsSheddingFdsUntilTwiceTheReserveIsFree() {
        AdmissionController controller = controller("");
        free(controller, RESERVE - 1);
        assertThat(controller.check()).isEqualTo(Resource.FDS);

        free(controller, RESERVE);
        assertThat(controller.check()).isEqualTo(Resource.FDS);
        free(controller, 100);
        assertThat(controller.check()).isEqualTo(Resource.FDS);
        free(controller, 2 * RESERVE - 1);
        assertThat(controller.check()).isEqualTo(Resource.FDS);

        free(controller, 2 * RESERVE + 1);
        assertThat(controller.check()).isNull();
        assertThat(controller.shedding()).isFalse();

        free(controller, RESERVE + 1);
        assertThat(controller.check()).as("accepting again: only fewer than the reserve sheds").isNull();
    }

    @Test
    void twiceTheReserveFreeEndsShedding() {
        AdmissionController controller = controller("");
        free(controller, RESERVE - 1);
        assertThat(controller.check()).isEqualTo(Resource.FDS);

        free(controller, 2 * RESERVE);

        // reference.conf: "ends when twice as many are free again"; AdmissionController: "accept again with
        // twice that free".
        assertThat(controller.check()).as("%d fds free, twice the reserve", 2 * RESERVE).isNull();
    }

    @Test
    void belowTheHardFloorOnlyUnderMaxOf16AndAQuarterOfTheReserve() {
        AdmissionController controller = controller("");

        free(controller, RESERVE - 1);
        assertThat(controller.belowHardFloor()).isFalse();
        free(controller, HARD_FLOOR);
        assertThat(controller.belowHardFloor()).isFalse();
        free(controller, HARD_FLOOR - 1);
        assertThat(controller.belowHardFloor()).isTrue();
        free(controller, 0);
        assertThat(controller.belowHardFloor()).isTrue();
    }

    @Test
    void autoReserveIsOnePercentOfALargeLimit() throws IOException {
        fixture = ProcFixture.create(dir.resolve("large"), 10_000, 1); // no fds of its own
        AdmissionController controller = controller("");
        assertThat(controller.freeFds()).isEqualTo(10_000);

        upstream.set(10_000 - 101);
        assertThat(controller.check()).as("101 free, reserve 100").isNull();
        upstream.set(10_000 - 99);
        assertThat(controller.check()).as("99 free, reserve 100").isEqualTo(Resource.FDS);
        upstream.set(10_000 - 25);
        assertThat(controller.belowHardFloor()).as("25 free, hard floor 100 / 4").isFalse();
        upstream.set(10_000 - 24);
        assertThat(controller.belowHardFloor()).isTrue();
    }

    @Test
    void aLimitUnderTwiceTheReserveStillRecovers() {
        fixture = ProcFixture.create(dir.resolve("small"), 120, 1); // auto reserve 64: 2 x 64 > 120
        AdmissionController controller = controller("");
        upstream.set(120 - 63);
        assertThat(controller.check()).as("63 free, reserve 64").isEqualTo(Resource.FDS);

        upstream.set(0);
        assertThat(controller.freeFds()).isEqualTo(120);

        // Twice the reserve can never be free here; shedding must still end once the gateway holds nothing.
        assertThat(controller.check()).as("every fd free").isNull();
    }

    @Test
    void explicitReserveAndHardFloor() {
        AdmissionController controller = controller("fd-reserve = 100\nfd-hard-floor = 10");

        free(controller, 101);
        assertThat(controller.check()).isNull();
        free(controller, 99);
        assertThat(controller.check()).isEqualTo(Resource.FDS);
        free(controller, 10);
        assertThat(controller.belowHardFloor()).isFalse();
        free(controller, 9);
        assertThat(controller.belowHardFloor()).isTrue();
    }

    @Test
    void autoHardFloorIsAQuarterOfAnExplicitReserve() {
        AdmissionController controller = controller("fd-reserve = 200");

        free(controller, 50);
        assertThat(controller.belowHardFloor()).isFalse();
        free(controller, 49);
        assertThat(controller.belowHardFloor()).isTrue();
    }

    @Test
    void admittedClientsAreChargedTwoFdsEachUntilTheyClose() {
        AdmissionController controller = controller("");

        EmbeddedChannel first = admit(controller);
        admit(controller);
        admit(controller);
        assertThat(controller.admittedConnections()).isEqualTo(3);
        assertThat(controller.freeFds()).isEqualTo(LIMIT - BASELINE - 6);

        upstream.set(5); // one backend connection each, two more idle in pools
        assertThat(controller.freeFds()).isEqualTo(LIMIT - BASELINE - 6 - 2);

        first.close();
        assertThat(controller.admittedConnections()).isEqualTo(2);
        assertThat(controller.freeFds()).isEqualTo(LIMIT - BASELINE - 4 - 3);
    }

    @Test
    void refreshReconcilesTheBaselineWithSelfFd() throws IOException {
        AdmissionController controller = controller("");

        fixture.openFds(121); // 120 fds of the process's own now (jars, logs, ...)
        controller.refresh();
        assertThat(controller.freeFds()).as("one sample of a rise may be a burst: not taken yet")
                .isGreaterThan(LIMIT - 120);
        controller.refresh();

        assertThat(controller.freeFds()).as("the rise lasted two refreshes").isEqualTo(LIMIT - 120);
    }

    @Test
    void systemWideFileShortageShedsFds() throws IOException {
        AdmissionController controller = controller("");

        fixture.fileNr(2_466_177 - RESERVE + 1, 2_466_177);
        controller.refresh();
        assertThat(controller.check()).as("fs.file-nr has fewer than the reserve free").isEqualTo(Resource.FDS);

        fixture.fileNr(340, 2_466_177);
        controller.refresh();
        assertThat(controller.check()).isNull();
    }

    @Test
    void maxConnectionsShedsAtTheCapAndAcceptsAgainBelowItsLowMark() {
        AdmissionController controller = controller("max-connections = 10");
        List<EmbeddedChannel> clients = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            assertThat(controller.check()).as("connection %d", i + 1).isNull();
            clients.add(admit(controller));
        }
        assertThat(controller.check()).as("the 10th").isNull();
        clients.add(admit(controller));

        assertThat(controller.check()).as("10 admitted: the 11th is refused").isEqualTo(Resource.CONNECTIONS);
        assertThat(controller.headroom(Resource.CONNECTIONS)).isZero();

        clients.remove(0).close();
        assertThat(controller.admittedConnections()).isEqualTo(9);
        assertThat(controller.check()).as("9 = 10 - max(1, 10 / 100): not below").isEqualTo(Resource.CONNECTIONS);

        clients.remove(0).close();
        assertThat(controller.admittedConnections()).isEqualTo(8);
        assertThat(controller.check()).isNull();
        assertThat(controller.headroom(Resource.CONNECTIONS)).isCloseTo(0.2, within(1e-9));
    }

    @Test
    void maxConnectionsOfOneAcceptsAgainOnceTheConnectionCloses() {
        AdmissionController controller = controller("max-connections = 1");
        assertThat(controller.check()).isNull();
        EmbeddedChannel only = admit(controller);
        assertThat(controller.check()).as("the 2nd while the 1st is open").isEqualTo(Resource.CONNECTIONS);

        only.close();
        assertThat(controller.admittedConnections()).isZero();

        // The low mark is 1 - max(1, 1 / 100) = 0, and a count is never below 0.
        assertThat(controller.check()).as("no connection open: a new one fits").isNull();
    }

    @Test
    void withoutMaxConnectionsTheConnectionCountNeverSheds() {
        AdmissionController controller = controller("");
        for (int i = 0; i < 50; i++) {
            admit(controller);
        }

        assertThat(controller.check()).isNull();
        assertThat(controller.headroom(Resource.CONNECTIONS)).isEqualTo(1.0);
    }

    @Test
    void tcpMemoryShedsPastThePressureThresholdAndRecoversBelowNinetyPercent() throws IOException {
        AdmissionController controller = controller("");
        assertThat(controller.check()).isNull();
        assertThat(controller.headroom(Resource.TCP_MEMORY)).isCloseTo(0.9, within(1e-9)); // 100 of 1000 pages

        fixture.tcpPages(1001);
        controller.refresh();
        assertThat(controller.check()).isEqualTo(Resource.TCP_MEMORY);
        assertThat(controller.headroom(Resource.TCP_MEMORY)).isZero();

        fixture.tcpPages(950);
        controller.refresh();
        assertThat(controller.check()).as("between 90% and 100%").isEqualTo(Resource.TCP_MEMORY);

        fixture.tcpPages(899);
        controller.refresh();
        assertThat(controller.check()).isNull();
        assertThat(controller.shedding()).isFalse();
    }

    @Test
    void unreadableTcpMemoryCountsAsNone() throws IOException {
        AdmissionController controller = controller("");
        fixture.tcpPages(1001);
        controller.refresh();
        assertThat(controller.check()).isEqualTo(Resource.TCP_MEMORY);

        Files.writeString(fixture.proc.resolve("net/sockstat"), "sockets: used 9\n");
        controller.refresh();

        assertThat(controller.check()).isNull();
    }

    @Test
    void cgroupMemoryShedsAtItsHighMarkAndRecoversBelowItsLowMark() throws IOException {
        AdmissionController controller = controller("");

        fixture.cgroupV2(95, 100);
        controller.refresh();
        assertThat(controller.check()).isEqualTo(Resource.CGROUP_MEMORY);
        assertThat(controller.headroom(Resource.CGROUP_MEMORY)).isCloseTo(0.05, within(1e-9));

        fixture.cgroupV2(85, 100);
        controller.refresh();
        assertThat(controller.check()).as("between 80% and 90%").isEqualTo(Resource.CGROUP_MEMORY);

        fixture.cgroupV2(79, 100);
        controller.refresh();
        assertThat(controller.check()).isNull();
    }

    @Test
    void fdsAreReportedBeforeOtherResources() throws IOException {
        AdmissionController controller = controller("");
        fixture.tcpPages(2000);
        controller.refresh();
        assertThat(controller.check()).isEqualTo(Resource.TCP_MEMORY);

        free(controller, 10);

        assertThat(controller.check()).isEqualTo(Resource.FDS);
    }

    @Test
    void disabledAdmitsWhateverTheFigures() throws IOException {
        AdmissionController controller = controller("enabled = false\nmax-connections = 1");
        fixture.tcpPages(5000);
        fixture.cgroupV2(100, 100);
        controller.refresh();
        admit(controller);
        admit(controller);

        free(controller, 0);

        assertThat(controller.enabled()).isFalse();
        assertThat(controller.check()).isNull();
        assertThat(controller.belowHardFloor()).isFalse();
        assertThat(controller.shedding()).isFalse();
        assertThat(state()).isZero();
    }

    @Test
    void headroomOfFdsIsTheFreeFractionOfTheLimit() {
        AdmissionController controller = controller("");

        free(controller, 100);

        assertThat(controller.headroom(Resource.FDS)).isEqualTo(0.25);
        assertThat(registry.get("fourtuple.admission.headroom").tag("resource", "fds").gauge().value())
                .isEqualTo(0.25);
        assertThat(controller.headroom(Resource.ACCEPT_RATE)).isEqualTo(1.0);
    }

    @Test
    void refusedCounterCountsEachRefusalByReason() {
        AdmissionController controller = controller("");

        controller.refused(Resource.FDS);
        controller.refused(Resource.FDS);
        controller.refused(Resource.TCP_MEMORY);

        assertThat(refusedCount("fds")).isEqualTo(2);
        assertThat(refusedCount("tcp-memory")).isEqualTo(1);
        assertThat(refusedCount("connections")).isZero();
        assertThat(refusedCount("accept-rate")).isZero();
    }

    @Test
    void resetsAreCountedApart() {
        AdmissionController controller = controller("");

        controller.reset();

        assertThat(registry.get("fourtuple.admission.resets").counter().count()).isEqualTo(1);
        assertThat(refusedCount("fds")).isZero();
    }

    @Test
    void stateGaugeIsOneWhileShedding() {
        AdmissionController controller = controller("");
        assertThat(state()).isZero();

        free(controller, RESERVE - 1);
        controller.check();
        assertThat(state()).isEqualTo(1);

        free(controller, 300);
        controller.check();
        assertThat(state()).isZero();
    }

    @Test
    void aRefusalInProgressHoldsOneFd() {
        AdmissionController controller = controller("");

        controller.refusalOpened();
        assertThat(controller.freeFds()).isEqualTo(LIMIT - BASELINE - 1);

        controller.refusalClosed();
        assertThat(controller.freeFds()).isEqualTo(LIMIT - BASELINE);
    }

    @Test
    void aConnectionWaitingForTheAcceptRateHoldsOneFd() {
        AdmissionController controller = controller("");

        controller.waitingStarted();
        assertThat(controller.freeFds()).isEqualTo(LIMIT - BASELINE - 1);
        assertThat(controller.waitingForRate()).isEqualTo(1);

        controller.waitingEnded();
        assertThat(controller.freeFds()).isEqualTo(LIMIT - BASELINE);
        assertThat(controller.waitingForRate()).isZero();
    }

    @Test
    void acceptFailuresAreCounted() {
        AdmissionController controller = controller("");

        controller.acceptFailed(new IOException("Too many open files"));
        controller.acceptFailed(new IOException("Too many open files"));

        assertThat(registry.get("fourtuple.admission.accept.errors").counter().count()).isEqualTo(2);
    }

    @Test
    void anExceptionThatIsNotAnIoErrorIsNoAcceptFailure() {
        AdmissionController controller = controller("");

        controller.acceptFailed(new IllegalStateException("a bug on the listening socket's pipeline"));

        assertThat(registry.get("fourtuple.admission.accept.errors").counter().count()).isZero();
    }

    @Test
    void everyReasonIsTaggedInOneStyleLowercaseWithHyphens() {
        controller("");

        assertThat(Resource.values()).extracting(Resource::tag)
                .allSatisfy(tag -> assertThat(tag).matches("[a-z]+(-[a-z]+)*"))
                .contains("direct-memory", "tcp-memory", "cgroup-memory", "accept-rate",
                        "per-client-connections", "per-client-rate", "per-client-table-full");
        for (Resource reason : Resource.values()) {
            assertThat(refusedCount(reason.tag())).as(reason.tag()).isZero();
        }
    }

    @Test
    void headroomIsReportedForTheGatewaysResourcesOnly() {
        controller("");

        assertThat(registry.find("fourtuple.admission.headroom").gauges())
                .extracting(gauge -> gauge.getId().getTag("resource"))
                .containsExactlyInAnyOrder("fds", "connections", "heap", "direct-memory", "tcp-memory",
                        "cgroup-memory");
    }

    @Test
    void perClientRefusalsAreNotShedding() {
        AdmissionController controller = controller("per-client.max-connections = 1");

        controller.refused(Resource.PER_CLIENT_CONNECTIONS);

        assertThat(refusedCount("per-client-connections")).isEqualTo(1);
        assertThat(controller.shedding()).isFalse();
        assertThat(state()).isZero();
    }

    @Test
    void theClientTableIsMeasuredAndOnlyBuiltWhenALimitIsOn() {
        controller("per-client.table-size = 1000");

        assertThat(registry.get("fourtuple.admission.client.table.capacity").gauge().value()).isEqualTo(1000);
        assertThat(registry.get("fourtuple.admission.client.table.size").gauge().value()).isZero();
        assertThat(registry.get("fourtuple.admission.client.table.live").gauge().value()).isZero();
        assertThat(controllers.get(0).perClient().activeTable()).as("both limits off: no table").isNull();
    }

    @Test
    void aReloadThatSwitchesALimitOnBuildsTheTableWithTheStartsSize() {
        AdmissionController controller = controller("per-client.table-size = 1000");

        controller.reconfigure(ProcFixture.settings("per-client { max-connections = 5, table-size = 2000 }"));

        PerClientTable table = controller.perClient().activeTable();
        assertThat(table).isNotNull();
        assertThat(table.capacity()).as("table-size needs a restart").isEqualTo(1000);

        controller.reconfigure(ProcFixture.settings("per-client.table-size = 1000"));
        assertThat(controller.perClient().activeTable()).as("switched off again").isNull();
    }

    @Test
    void withoutAnOpenFilesLimitFdsAreNotWatched() throws IOException {
        Files.writeString(fixture.proc.resolve("self/limits"),
                "Limit                     Soft Limit           Hard Limit           Units\n"
                        + "Max open files            unlimited            unlimited            files\n");
        AdmissionController controller = controller("");

        upstream.set(1_000_000);

        assertThat(controller.freeFds()).isEqualTo(-1);
        assertThat(controller.check()).isNull();
        assertThat(controller.belowHardFloor()).isFalse();
        assertThat(controller.headroom(Resource.FDS)).isEqualTo(1.0);
    }
}
