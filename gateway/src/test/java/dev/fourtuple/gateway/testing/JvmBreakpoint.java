package dev.fourtuple.gateway.testing;

import com.sun.jdi.Bootstrap;
import com.sun.jdi.Method;
import com.sun.jdi.ReferenceType;
import com.sun.jdi.VMDisconnectedException;
import com.sun.jdi.VirtualMachine;
import com.sun.jdi.connect.AttachingConnector;
import com.sun.jdi.connect.Connector;
import com.sun.jdi.event.BreakpointEvent;
import com.sun.jdi.event.ClassPrepareEvent;
import com.sun.jdi.event.Event;
import com.sun.jdi.event.EventSet;
import com.sun.jdi.request.BreakpointRequest;
import com.sun.jdi.request.ClassPrepareRequest;
import com.sun.jdi.request.EventRequest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Holds one thread of a child JVM at the entry of a method, through JDWP: for a test that must act at an exact
 * point of the child's run (a signal while it is half started) instead of racing it. Start the child with
 * {@link #JVM_OPTION}; it waits for this debugger before {@code main} and prints its JDWP port.
 *
 * <p>Only the thread that reaches the method is held (SUSPEND_EVENT_THREAD): signal handlers and event loops
 * run on. {@link #close()} lets it go and detaches.
 */
public final class JvmBreakpoint implements AutoCloseable {
    /** The child's JVM option: JDWP on a free loopback port, suspended until a debugger attaches. */
    public static final String JVM_OPTION = "-agentlib:jdwp=transport=dt_socket,server=y,suspend=y,address=127.0.0.1:0";
    /** The line JDWP prints with its port. */
    public static final Pattern LISTENING = Pattern.compile("Listening for transport dt_socket at address: (\\d+)");

    private final VirtualMachine vm;
    private final CompletableFuture<EventSet> hit = new CompletableFuture<>();

    private JvmBreakpoint(VirtualMachine vm) {
        this.vm = vm;
    }

    /** Attaches to the JVM waiting on {@code port}, sets the breakpoint at {@code className.method}'s entry, lets it run. */
    public static JvmBreakpoint attach(int port, String className, String method) throws Exception {
        AttachingConnector connector = Bootstrap.virtualMachineManager().attachingConnectors().stream()
                .filter(c -> c.name().equals("com.sun.jdi.SocketAttach")).findFirst().orElseThrow();
        Map<String, Connector.Argument> arguments = connector.defaultArguments();
        arguments.get("hostname").setValue("127.0.0.1");
        arguments.get("port").setValue(String.valueOf(port));
        arguments.get("timeout").setValue("10000");
        JvmBreakpoint breakpoint = new JvmBreakpoint(connector.attach(arguments));
        breakpoint.arm(className, method);
        return breakpoint;
    }

    private void arm(String className, String method) {
        ClassPrepareRequest prepare = vm.eventRequestManager().createClassPrepareRequest();
        prepare.addClassFilter(className);
        prepare.setSuspendPolicy(EventRequest.SUSPEND_EVENT_THREAD);
        prepare.enable();
        for (ReferenceType type : vm.classesByName(className)) {
            set(type, method);
        }
        Thread events = new Thread(() -> {
            try {
                while (!hit.isDone()) {
                    EventSet set = vm.eventQueue().remove(100);
                    if (set == null) {
                        continue;
                    }
                    boolean held = false;
                    for (Event event : set) {
                        if (event instanceof ClassPrepareEvent prepared) {
                            set(prepared.referenceType(), method);
                        } else if (event instanceof BreakpointEvent) {
                            held = hit.complete(set);
                        }
                    }
                    if (!held) {
                        set.resume();
                    }
                }
            } catch (InterruptedException | VMDisconnectedException e) {
                hit.completeExceptionally(new IllegalStateException("the JVM went away before " + className
                        + "." + method + " was reached", e));
            }
        }, "jdi-events");
        events.setDaemon(true);
        events.start();
        vm.resume(); // out of suspend=y: main() starts
    }

    private void set(ReferenceType type, String name) {
        List<Method> methods = type.methodsByName(name);
        if (methods.isEmpty()) {
            hit.completeExceptionally(new IllegalArgumentException(type.name() + " has no method " + name));
            return;
        }
        for (Method method : methods) {
            BreakpointRequest request = vm.eventRequestManager().createBreakpointRequest(method.location());
            request.setSuspendPolicy(EventRequest.SUSPEND_EVENT_THREAD);
            request.enable();
        }
    }

    /** Waits until a thread of the child is held at the method's entry. */
    public void awaitHeld(Duration timeout) throws Exception {
        hit.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Lets the held thread go on, and detaches: the child runs as if no debugger had been there. */
    @Override
    public void close() {
        try {
            vm.eventRequestManager().deleteAllBreakpoints();
            if (hit.isDone() && !hit.isCompletedExceptionally()) {
                hit.join().resume();
            }
        } catch (VMDisconnectedException e) {
            return; // already gone: nothing is held
        }
        try {
            vm.dispose();
        } catch (VMDisconnectedException e) {
            // gone meanwhile
        }
    }
}
