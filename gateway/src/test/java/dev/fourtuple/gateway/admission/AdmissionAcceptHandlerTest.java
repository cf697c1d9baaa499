package dev.fourtuple.gateway.admission;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AdmissionAcceptHandler} on an {@link EmbeddedChannel} standing for the listening socket: each child
 * channel written inbound is one accepted connection, and what the handler passes on is what Netty's acceptor
 * (and then the front end's initializer) would get. A {@link Downstream} handler after it stands for the
 * acceptor and records every exception that gets past.
 *
 * <p>The fixture {@code /proc} has a soft limit of 400 fds and 20 of the process's own, so 380 are free; the
 * auto reserve is 64 and the hard floor 16. Fds are taken through the {@code upstream} supplier.
 *
 * <p>The listening channel's clock is frozen: the accept rate's bucket, the rate's resume and the error
 * back-off all run on it, so a test moves time with {@link #advanceMillis} and nothing depends on how fast
 * the test runs. Writing a child inbound while {@code autoRead} is off stands for what a transport may still
 * deliver from a read that started before the pause (NIO hands on a batch of up to 16 accepts).
 */
class AdmissionAcceptHandlerTest {
    private static final long AVAILABLE = 380;

    @TempDir
    Path dir;
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final AtomicLong upstream = new AtomicLong();
    private final List<EmbeddedChannel> children = new ArrayList<>();
    private final Downstream downstream = new Downstream();
    private ProcFixture fixture;
    private AdmissionController controller;
    private AdmissionAcceptHandler handler;
    private EmbeddedChannel parent;

    /** What follows the admission handler on a listening socket's pipeline: here, a recorder. */
    private static final class Downstream extends ChannelInboundHandlerAdapter {
        final List<Throwable> exceptions = new ArrayList<>();

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            exceptions.add(cause);
        }
    }

    /**
     * An accepted connection from an IP address. Like a closed NIO socket, it no longer knows its peer once
     * closed: the release on close relies on the address the channel cached at accept.
     */
    private static final class ClientChannel extends EmbeddedChannel {
        private final InetSocketAddress remote;

        ClientChannel(InetSocketAddress remote) {
            this.remote = remote;
        }

        @Override
        protected SocketAddress remoteAddress0() {
            return isOpen() ? remote : null;
        }
    }

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
        assertThat(downstream.exceptions).as("nothing gets past the admission handler").isEmpty();
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
        handler = (AdmissionAcceptHandler) controller.acceptHandler();
        parent.pipeline().addLast(handler).addLast(downstream);
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

    private Channel acceptNew() {
        EmbeddedChannel child = new EmbeddedChannel();
        children.add(child);
        parent.writeInbound(child);
        return child;
    }

    private Channel acceptFrom(String ip) {
        ClientChannel child = new ClientChannel(new InetSocketAddress(ip, 40_000 + children.size()));
        children.add(child);
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

    private void advanceMillis(long millis) {
        parent.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
        parent.runScheduledPendingTasks();
    }

    private boolean reading() {
        return parent.config().isAutoRead();
    }

    private void acceptError() {
        parent.pipeline().fireExceptionCaught(new IOException("accept(..) failed: Too many open files"));
    }

    private double count(String name) {
        return registry.get(name).counter().count();
    }

    private double refused(String reason) {
        return registry.get("fourtuple.admission.refused").tag("reason", reason).counter().count();
    }

    private static Resource refusal(Channel child) {
        return child.attr(AdmissionAcceptHandler.REFUSED).get();
    }

    @Test
    void admittedChildIsPassedOnUnmarkedAndCounted() {
        listen("");

        Channel child = accept(0);

        assertThat(passedOn()).containsExactly(child);
        assertThat(refusal(child)).isNull();
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
        assertThat(refusal(child)).isEqualTo(Resource.FDS);
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
        assertThat(refusal(second)).isEqualTo(Resource.FDS);
        assertThat(refusal(third)).isNull();
        assertThat(refused("fds")).isEqualTo(2);
    }

    @Test
    void belowTheHardFloorTheChildIsClosedAndNotPassedOn() {
        listen("");
        freeFds(15);

        Channel child = accept(0);

        assertThat(passedOn()).isEmpty();
        assertThat(child.isOpen()).isFalse();
        assertThat(refusal(child)).isNull();
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
        assertThat(refusal(accepted.get(0))).isNull();
        assertThat(refusal(accepted.get(1))).isNull();
        assertThat(refusal(accepted.get(2))).isEqualTo(Resource.ACCEPT_RATE);
        assertThat(refusal(accepted.get(3))).isEqualTo(Resource.ACCEPT_RATE);
        assertThat(refused("accept-rate")).isEqualTo(2);
        assertThat(controller.admittedConnections()).isEqualTo(2);
        assertThat(reading()).as("refusing does not pause accepting").isTrue();
    }

    @Test
    void excessOverTheAcceptRateWaitsAndPausesAccepting() {
        listen("accept-rate = 2\naccept-rate-excess = wait");

        Channel first = accept(0);
        Channel second = accept(1);
        Channel third = accept(2);
        Channel fourth = accept(3);

        assertThat(passedOn()).as("the 3rd and 4th are held").containsExactly(first, second);
        assertThat(reading()).as("the listening socket is not read meanwhile").isFalse();
        assertThat(third.isOpen()).isTrue();
        assertThat(fourth.isOpen()).isTrue();
        assertThat(refusal(third)).isNull();
        assertThat(refused("accept-rate")).as("waiting is not refusing").isZero();
        assertThat(controller.admittedConnections()).isEqualTo(2);
        assertThat(controller.freeFds()).as("2 fds for each admitted, 1 for each waiting")
                .isEqualTo(AVAILABLE - 2 * 2 - 2);
    }

    @Test
    void waitingConnectionsGoThroughAsTokensComeAndReadingResumesAfterTheLast() {
        listen("accept-rate = 2"); // a token every 500 ms
        accept(0);
        accept(1);
        Channel third = accept(2);
        Channel fourth = accept(3);
        passedOn();

        advanceMillis(499);
        assertThat(passedOn()).as("no token yet").isEmpty();

        advanceMillis(1);
        assertThat(passedOn()).containsExactly(third);
        assertThat(reading()).as("the 4th still waits").isFalse();
        assertThat(controller.waitingForRate()).isEqualTo(1);

        advanceMillis(500);
        assertThat(passedOn()).containsExactly(fourth);
        assertThat(reading()).isTrue();
        assertThat(controller.waitingForRate()).isZero();
        assertThat(controller.admittedConnections()).isEqualTo(4);
        assertThat(controller.freeFds()).isEqualTo(AVAILABLE - 4 * 2);
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
        assertThat(controller.waitingForRate()).isZero();
    }

    @Test
    void aReloadThatSwitchesTheRateOffLetsEveryoneWaitingIn() {
        listen("accept-rate = 2");
        accept(0);
        accept(1);
        Channel third = accept(2);
        Channel fourth = accept(3);
        passedOn();

        controller.reconfigure(ProcFixture.settings(""));
        advanceMillis(500); // the resume that was scheduled finds no rate

        assertThat(passedOn()).containsExactly(third, fourth);
        assertThat(reading()).isTrue();
        assertThat(controller.waitingForRate()).isZero();
    }

    @Test
    void theWaitingQueueIsBoundedAndTheExcessIsRefusedAtOnceNotHeld() {
        listen("accept-rate = 1");
        Channel first = acceptNew();
        assertThat(passedOn()).containsExactly(first);

        // 100 more from one read, all past the rate: the bound holds 64, the other 36 get their 503 now.
        List<Channel> more = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            more.add(acceptNew());
        }

        List<Channel> passed = passedOn();
        assertThat(handler.waiting()).isEqualTo(AdmissionAcceptHandler.MAX_WAITING);
        assertThat(passed).hasSize(100 - AdmissionAcceptHandler.MAX_WAITING)
                .containsExactlyElementsOf(more.subList(AdmissionAcceptHandler.MAX_WAITING, 100))
                .allSatisfy(child -> assertThat(refusal(child)).isEqualTo(Resource.ACCEPT_RATE));
        assertThat(refused("accept-rate")).isEqualTo(100 - AdmissionAcceptHandler.MAX_WAITING);
        assertThat(controller.waitingForRate()).isEqualTo(AdmissionAcceptHandler.MAX_WAITING);
        assertThat(controller.freeFds()).as("the first admitted (2 fds), 64 waiting (1 each)")
                .isEqualTo(AVAILABLE - 2 - AdmissionAcceptHandler.MAX_WAITING);
        assertThat(reading()).isFalse();

        // They leave in arrival order, one token a second.
        advanceMillis(1000);
        assertThat(passedOn()).containsExactly(more.get(0));
        assertThat(handler.waiting()).isEqualTo(AdmissionAcceptHandler.MAX_WAITING - 1);
    }

    @Test
    void anAcceptErrorIsCountedPausesAcceptingForTheBackOffAndGoesNoFurther() {
        listen("");

        acceptError();

        assertThat(count("fourtuple.admission.accept.errors")).isEqualTo(1);
        assertThat(downstream.exceptions).as("Netty's acceptor must not see it: it would toggle autoRead").isEmpty();
        parent.checkException(); // nor the end of the pipeline
        assertThat(reading()).isFalse();

        advanceMillis(999);
        assertThat(reading()).isFalse();
        advanceMillis(1);
        assertThat(reading()).as("the back-off is over").isTrue();
    }

    @Test
    void errorsDuringTheBackOffAreCountedButDoNotExtendIt() {
        listen("");

        acceptError();
        advanceMillis(600);
        acceptError();
        acceptError();

        assertThat(count("fourtuple.admission.accept.errors")).isEqualTo(3);
        advanceMillis(400);
        assertThat(reading()).isTrue();
    }

    @Test
    void otherExceptionsAreNotAcceptFailuresButAreHeldBackAndPauseToo() {
        listen("");

        parent.pipeline().fireExceptionCaught(new IllegalStateException("not an accept failure"));

        assertThat(count("fourtuple.admission.accept.errors")).isZero();
        assertThat(downstream.exceptions).isEmpty();
        parent.checkException();
        assertThat(reading()).isFalse();
        advanceMillis(1000);
        assertThat(reading()).isTrue();
    }

    @Test
    void anErrorWhileRatePausedKeepsReadingOffUntilTheBackOffEndsAfterTheRateResumed() {
        listen("accept-rate = 2"); // a token every 500 ms; the back-off is 1 s
        accept(0);
        accept(1);
        Channel third = accept(2);
        passedOn();
        assertThat(reading()).isFalse();

        acceptError(); // at 0 ms, while the 3rd waits

        advanceMillis(500);
        assertThat(passedOn()).as("the rate lets the 3rd through during the back-off").containsExactly(third);
        assertThat(reading()).as("the rate no longer holds reading, the back-off still does").isFalse();

        // Whatever a read still hands on meanwhile waits its turn; it cannot make the queue grow unseen.
        Channel fourth = accept(3);
        assertThat(passedOn()).isEmpty();
        assertThat(reading()).isFalse();

        advanceMillis(499);
        assertThat(reading()).isFalse();
        advanceMillis(1); // 1000 ms: the back-off ends, and the 4th has its token
        assertThat(passedOn()).containsExactly(fourth);
        assertThat(reading()).isTrue();
        assertThat(handler.waiting()).isZero();
    }

    @Test
    void anErrorWhileRatePausedKeepsReadingOffUntilTheRateResumesAfterTheBackOffEnded() {
        listen("accept-rate = 1"); // a token a second
        Channel first = accept(0);
        advanceMillis(200);
        Channel second = accept(1); // token at 1000 ms
        Channel third = accept(2); // token at 2000 ms
        assertThat(passedOn()).containsExactly(first);

        acceptError(); // at 200 ms: the back-off lasts until 1200 ms

        advanceMillis(800); // 1000 ms
        assertThat(passedOn()).containsExactly(second);
        assertThat(reading()).isFalse();

        advanceMillis(200); // 1200 ms: the back-off is over, but the 3rd still waits for the rate
        assertThat(reading()).as("the rate still holds reading").isFalse();
        assertThat(handler.waiting()).isEqualTo(1);

        advanceMillis(799);
        assertThat(reading()).isFalse();
        advanceMillis(1); // 2000 ms
        assertThat(passedOn()).containsExactly(third);
        assertThat(reading()).isTrue();
        assertThat(count("fourtuple.admission.accept.errors")).isEqualTo(1);
    }

    @Test
    void aClientAtItsMaxConnectionsIsRefusedAndAnotherClientIsNot() {
        listen("per-client.max-connections = 1");

        Channel a1 = acceptFrom("10.0.0.1");
        Channel a2 = acceptFrom("10.0.0.1");
        Channel b1 = acceptFrom("10.0.0.2");

        assertThat(passedOn()).containsExactly(a1, a2, b1);
        assertThat(refusal(a1)).isNull();
        assertThat(refusal(a2)).isEqualTo(Resource.PER_CLIENT_CONNECTIONS);
        assertThat(refusal(b1)).isNull();
        assertThat(refused("per-client-connections")).isEqualTo(1);
        assertThat(controller.admittedConnections()).isEqualTo(2);
        assertThat(controller.shedding()).isFalse();

        a1.close(); // one close listener releases both counts
        assertThat(controller.admittedConnections()).isEqualTo(1);
        Channel a3 = acceptFrom("10.0.0.1");
        assertThat(passedOn()).containsExactly(a3);
        assertThat(refusal(a3)).isNull();
    }

    @Test
    void aClientOverItsConnectRateIsRefusedUntilItsBucketRefills() {
        listen("per-client.connect-rate = 2");

        acceptFrom("192.0.2.7");
        acceptFrom("192.0.2.7");
        Channel third = acceptFrom("192.0.2.7");
        Channel other = acceptFrom("192.0.2.8");
        advanceMillis(500);
        Channel later = acceptFrom("192.0.2.7");

        assertThat(refusal(third)).isEqualTo(Resource.PER_CLIENT_RATE);
        assertThat(refusal(other)).isNull();
        assertThat(refusal(later)).isNull();
        assertThat(refused("per-client-rate")).isEqualTo(1);
        assertThat(passedOn()).hasSize(5);
    }

    @Test
    void theGatewaysOwnRefusalComesFirstAndCostsTheClientNothing() {
        listen("per-client.max-connections = 1");
        freeFds(40);

        Channel child = acceptFrom("10.0.0.1");

        assertThat(refusal(child)).isEqualTo(Resource.FDS);
        assertThat(controller.perClient().size()).as("not even remembered").isZero();
        assertThat(passedOn()).containsExactly(child);
    }

    @Test
    void aConnectionWithoutAnIpAddressIsAdmittedUncounted() {
        listen("per-client.max-connections = 1");

        Channel first = accept(0);
        Channel second = accept(1);

        assertThat(passedOn()).containsExactly(first, second);
        assertThat(refusal(second)).isNull();
        assertThat(controller.perClient().size()).isZero();
    }
}
