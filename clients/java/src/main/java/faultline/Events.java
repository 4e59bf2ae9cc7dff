package faultline;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;

/**
 * The worker side of the protocol: one event, one JSON line on stdout, out of
 * the process when the call returns (the flush-before-act rule).
 *
 * <p>stdout belongs to the events alone. {@link #claimStdout} takes the real
 * file descriptor for them and points {@code System.out} at stderr, so that
 * nothing else (a library's println, a stack trace printed to System.out) can
 * ever land between two events.
 */
final class Events {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** The client library's id of a record whose value is not {@code fl/<producer>/<seq>}. */
    static final long UNKNOWN_PRODUCER = 4294967295L;

    private static FileOutputStream out;
    /** Client errors seen (in the log) before {@code hello}: written right after it. */
    private static List<String> early = new ArrayList<>();
    private static boolean helloWritten;

    private Events() {}

    /** Takes stdout for the events; System.out goes to stderr from here on. */
    static synchronized void claimStdout() {
        if (out == null) {
            out = new FileOutputStream(FileDescriptor.out);
            System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8));
        }
    }

    /**
     * Writes one event as one line with a single write(2) on the unbuffered
     * stdout. If the harness is gone there is nobody to report to, so the
     * worker ends rather than act unobserved (exit 3, as the Go adapters).
     */
    static synchronized void emit(Object event) {
        byte[] line;
        try {
            line = (MAPPER.writeValueAsString(event) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("an event that does not serialize: " + e, e);
        }
        try {
            out.write(line);
        } catch (IOException e) {
            System.err.println("faultline-java: stdout is gone (" + e.getMessage() + "); exiting");
            Runtime.getRuntime().halt(3);
        }
    }

    private static ObjectNode wrap(String kind, Object body) {
        ObjectNode ev = JSON.objectNode();
        ev.set(kind, MAPPER.valueToTree(body));
        return ev;
    }

    private static ArrayNode parts(Collection<Integer> parts) {
        ArrayNode a = JSON.arrayNode();
        for (int p : new TreeSet<>(parts)) {
            a.add(p);
        }
        return a;
    }

    static synchronized void hello(String version) {
        ObjectNode body = JSON.objectNode();
        body.put("protocol", 3);
        body.put("client", "java");
        body.put("version", version);
        emit(wrap("hello", body));
        helloWritten = true;
        for (String msg : early) {
            clientError(msg);
        }
        early = null;
    }

    static void started(String group) {
        ObjectNode body = JSON.objectNode();
        body.put("role", "consumer");
        body.put("group", group);
        emit(wrap("started", body));
    }

    /** assigned, revoked, lost: the partitions, sorted, and the generation. */
    static void partsGeneration(String kind, Collection<Integer> ps, int generation) {
        ObjectNode body = JSON.objectNode();
        body.set("parts", parts(ps));
        body.put("generation", generation);
        emit(wrap(kind, body));
    }

    static void processed(int p, long o, long producer, long seq) {
        ObjectNode body = JSON.objectNode();
        body.put("p", p);
        body.put("o", o);
        ArrayNode id = body.putArray("id");
        id.add(producer);
        // seq is a u64: written as the unsigned decimal.
        id.add(new java.math.BigInteger(Long.toUnsignedString(seq)));
        emit(wrap("processed", body));
    }

    static void committed(int p, long o, String err) {
        ObjectNode body = JSON.objectNode();
        body.put("p", p);
        body.put("o", o);
        if (err != null) {
            body.put("err", err);
        }
        emit(wrap("committed", body));
    }

    /** fetch-paused, fetch-resumed. */
    static void parts(String kind, Collection<Integer> ps) {
        ObjectNode body = JSON.objectNode();
        body.set("parts", parts(ps));
        emit(wrap(kind, body));
    }

    static void seek(int p, long from, long to) {
        ObjectNode body = JSON.objectNode();
        body.put("p", p);
        body.put("from", from);
        body.put("to", to);
        emit(wrap("seek", body));
    }

    /** The answer to hold-record: written before the poll thread blocks on the record. */
    static void holdingRecord(int p, long o) {
        ObjectNode body = JSON.objectNode();
        body.put("p", p);
        body.put("o", o);
        emit(wrap("holding-record", body));
    }

    static void finished() {
        emit(TextNode.valueOf("finished"));
    }

    static synchronized void clientError(String msg) {
        if (!helloWritten) {
            // hello is the first line, always.
            early.add(msg);
            return;
        }
        ObjectNode body = JSON.objectNode();
        body.put("msg", msg);
        emit(wrap("client-error", body));
    }
}
