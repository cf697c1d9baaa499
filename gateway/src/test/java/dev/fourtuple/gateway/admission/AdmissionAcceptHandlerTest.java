package dev.fourtuple.gateway.admission;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.Channel;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AdmissionAcceptHandler} on an {@link EmbeddedChannel} standing for the listening socket: each child
 * channel written inbound is one accepted connection, and what the handler passes on is what Netty's acceptor
 * (and then the front end's initializer) would get.
 *
 * <p>The fixture {@code /proc} has a soft limit of 400 fds and 20 of the process's own, so 380 are free; the
 * auto reserve is 64 and the hard floor 16. Fds are taken through the {@code upstream} supplier.
 *
 * <p>The accept rate's bucket runs on {@link System#nanoTime()}, not on the loop's clock, so the tests that
 * exhaust it create every channel before the controller: they need its 2 tokens not to refill (500 ms each)
 * before the 3rd connection. For the same reason no test here releases connections held by the rate: moving
 * the embedded loop's clock does not move the bucket's.
 */
class AdmissionAcceptHandlerTest {
    private static final long AVAILABLE = 380;

    @TempDir
    Path dir;
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final AtomicLong upstream = new AtomicLong();
    private final List<EmbeddedChannel> children = new ArrayList<>();
    private ProcFixture fixture;
    private AdmissionController controller;
    private EmbeddedChannel parent;

    @BeforeEach
    void fixture() {
        fixture = ProcFixture.create(dir, 400, 21);
        parent = new EmbeddedChannel();
        parent.freezeTime();
        for (int i = 0; i < 4; i++) {
            children.add(new EmbeddedChannel());
        }
    }

    @AfterEach
    void closeAll() {
        if (controller != null) {
            controller.close();
        }
        assertThat(parent.finishAndReleaseAll()).as("nothing left unread on the listening channel").isFalse();
        for (EmbeddedChannel child : children) {
            child.finishAndReleaseAll();
        }
    }

    private void listen(String keys) {
        controller = new AdmissionController(ProcFixture.settings(keys), registry, upstream::get, fixture.proc,
                fixture.cgroup);
        parent.pipeline().addLast(controller.acceptHandler());
    }

    private void freeFds(long free) {
        upstream.set(AVAILABLE - free);
        assertThat(controller.freeFds()).as("fixture arithmetic").isEqualTo(free);
    }

    private Channel accept(int index) {
        EmbeddedChannel child = children.get(index);
        parent.writeInbound(child);
        return child;
    }

    private List<Channel> passedOn() {
        List<Channel> passed = new ArrayList<>();
        Object msg;
        while ((msg = parent.readInbound()) != null) {
            passed.add((Channel) msg);
        }
        return passed;
    }

    private double count(String name) {
        return registry.get(name).counter().count();
    }

    private double refused(String reason) {
        return registry.get("fourtuple.admission.refused").tag("reason", reason).counter().count();
    }

    @Test
    void admittedChildIsPassedOnUnmarkedAndCounted() {
        listen("");

        Channel child = accept(0);

        assertThat(passedOn()).containsExactly(child);
        assertThat(child.attr(AdmissionAcceptHandler.REFUSED).get()).isNull();
        assertThat(child.isOpen()).isTrue();
        assertThat(controller.admittedConnections()).isEqualTo(1);
        assertThat(controller.freeFds()).as("charged for itself and its backend connection").isEqualTo(AVAILABLE - 2);

        child.close();
        assertThat(controller.admittedConnections()).isZero();
    }

    @Test
    void refusedChildIsPassedOnMarkedWithTheReason() {
        listen("");
        freeFds(40); // fewer than the reserve (64), more than the hard floor (16)

        Channel child = accept(0);

        assertThat(passedOn()).containsExactly(child);
        assertThat(child.attr(AdmissionAcceptHandler.REFUSED).get()).isEqualTo(Resource.FDS);
        assertThat(child.isOpen()).as("it gets its 503 from the refusal pipeline").isTrue();
        assertThat(controller.admittedConnections()).isZero();
        assertThat(refused("fds")).isEqualTo(1);
    }

    @Test
    void refusalFollowsTheControllersHysteresis() {
        listen("");
        freeFds(40);
        accept(0);
        freeFds(100); // more than the reserve, less than twice it: still shedding

        Channel second = accept(1);
        freeFds(200);
        Channel third = accept(2);

        assertThat(passedOn()).hasSize(3);
        assertThat(second.attr(AdmissionAcceptHandler.REFUSED).get()).isEqualTo(Resource.FDS);
        assertThat(third.attr(AdmissionAcceptHandler.REFUSED).get()).isNull();
        assertThat(refused("fds")).isEqualTo(2);
    }

    @Test
    void belowTheHardFloorTheChildIsClosedAndNotPassedOn() {
        listen("");
        freeFds(15);

        Channel child = accept(0);

        assertThat(passedOn()).isEmpty();
        assertThat(child.isOpen()).isFalse();
        assertThat(child.attr(AdmissionAcceptHandler.REFUSED).get()).isNull();
        assertThat(count("fourtuple.admission.resets")).isEqualTo(1);
        assertThat(refused("fds")).as("a reset is not a 503").isZero();
        assertThat(controller.admittedConnections()).isZero();
        assertThat(controller.shedding()).isTrue();
    }

    @Test
    void excessOverTheAcceptRateIsRefusedAtOnceWhenSoConfigured() {
        listen("accept-rate = 2\naccept-rate-excess = refuse");

        List<Channel> accepted = List.of(accept(0), accept(1), accept(2), accept(3));

        assertThat(passedOn()).containsExactlyElementsOf(accepted);
        assertThat(accepted.get(0).attr(AdmissionAcceptHandler.REFUSED).get()).isNull();
        assertThat(accepted.get(1).attr(AdmissionAcceptHandler.REFUSED).get()).isNull();
        assertThat(accepted.get(2).attr(AdmissionAcceptHandler.REFUSED).get()).isEqualTo(Resource.ACCEPT_RATE);
        assertThat(accepted.get(3).attr(AdmissionAcceptHandler.REFUSED).get()).isEqualTo(Resource.ACCEPT_RATE);
        assertThat(refused("accept_rate")).isEqualTo(2);
        assertThat(controller.admittedConnections()).isEqualTo(2);
        assertThat(parent.config().isAutoRead()).as("refusing does not pause accepting").isTrue();
    }

    @Test
    void excessOverTheAcceptRateWaitsAndPausesAccepting() {
        listen("accept-rate = 2\naccept-rate-excess = wait");

        Channel first = accept(0);
        Channel second = accept(1);
        Channel third = accept(2);
        Channel fourth = accept(3);

        assertThat(passedOn()).as("the 3rd and 4th are held").containsExactly(first, second);
        assertThat(parent.config().isAutoRead()).as("the listening socket is not read meanwhile").isFalse();
        assertThat(third.isOpen()).isTrue();
        assertThat(fourth.isOpen()).isTrue();
        assertThat(third.attr(AdmissionAcceptHandler.REFUSED).get()).isNull();
        assertThat(refused("accept_rate")).as("waiting is not refusing").isZero();
        assertThat(controller.admittedConnections()).isEqualTo(2);
    }

    @Test
    void connectionsHeldByTheAcceptRateAreClosedWithTheListeningSocket() {
        listen("accept-rate = 2");
        accept(0);
        accept(1);
        Channel third = accept(2);
        Channel fourth = accept(3);
        assertThat(passedOn()).hasSize(2);

        parent.close();

        assertThat(third.isOpen()).isFalse();
        assertThat(fourth.isOpen()).isFalse();
        assertThat(passedOn()).isEmpty();
    }

    @Test
    void acceptFailureIsCountedAndPassedOn() {
        listen("");
        IOException emfile = new IOException("accept(..) failed: Too many open files");

        parent.pipeline().fireExceptionCaught(emfile);

        assertThat(count("fourtuple.admission.accept.errors")).isEqualTo(1);
        assertThatThrownBy(parent::checkException).as("Netty's acceptor still sees it").isSameAs(emfile);
    }

    @Test
    void otherExceptionsAreNotAcceptFailures() {
        listen("");
        IllegalStateException bug = new IllegalStateException("not an accept failure");

        parent.pipeline().fireExceptionCaught(bug);

        assertThat(count("fourtuple.admission.accept.errors")).isZero();
        assertThatThrownBy(parent::checkException).isSameAs(bug);
    }
}
