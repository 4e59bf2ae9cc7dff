package faultline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Commands from the runner, one JSON value per line on stdin, read on a
 * daemon thread into a queue that the poll thread drains. End of input means
 * stop (the harness is gone or done with us). An unknown or malformed command
 * is logged to stderr and ignored.
 *
 * <p>KafkaConsumer is single-threaded: the reader never touches the consumer
 * except for {@code wakeup()} (the one method meant to be called from another
 * thread), and only for a stop, to cut a blocking poll short.
 */
final class Commands {
    sealed interface Command permits Stop, PauseFetch, ResumeFetch, HoldRecord, ReleaseRecord {}

    record Stop() implements Command {}

    record PauseFetch() implements Command {}

    record ResumeFetch(boolean seekToEnd) implements Command {}

    record HoldRecord() implements Command {}

    record ReleaseRecord() implements Command {}

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final LinkedBlockingQueue<Command> queue = new LinkedBlockingQueue<>();
    private volatile Runnable onStop = () -> {};

    /** Called (on the reader thread) once a stop is queued. */
    void onStop(Runnable r) {
        onStop = r;
    }

    void start() {
        Thread t = new Thread(this::read, "faultline-commands");
        t.setDaemon(true);
        t.start();
    }

    /** The next command, or null if none is waiting. */
    Command poll() {
        return queue.poll();
    }

    /**
     * Waits for the next command: a held record waits here, on the same
     * queue as everything else, so that its release (or a stop, or the end
     * of stdin, which queues a stop) wakes it.
     */
    Command take() throws InterruptedException {
        return queue.take();
    }

    boolean waiting() {
        return !queue.isEmpty();
    }

    private void read() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                Command c;
                try {
                    c = parse(line);
                } catch (IllegalArgumentException | IOException e) {
                    System.err.println("faultline-java: ignoring bad command " + line + ": " + e.getMessage());
                    continue;
                }
                queue.add(c);
                if (c instanceof Stop) {
                    onStop.run();
                }
            }
        } catch (IOException e) {
            System.err.println("faultline-java: reading stdin: " + e.getMessage());
        }
        queue.add(new Stop());
        onStop.run();
    }

    static Command parse(String line) throws IOException {
        JsonNode v = MAPPER.readTree(line);
        if (v != null && v.isTextual()) {
            switch (v.asText()) {
                case "stop":
                    return new Stop();
                case "pause-fetch":
                    return new PauseFetch();
                case "hold-record":
                    return new HoldRecord();
                case "release-record":
                    return new ReleaseRecord();
                default:
                    break;
            }
        } else if (v != null && v.isObject() && v.size() == 1 && v.has("resume-fetch")) {
            JsonNode seek = v.get("resume-fetch").get("seek_to_end");
            if (seek == null || !seek.isBoolean()) {
                throw new IllegalArgumentException("resume-fetch needs a boolean seek_to_end");
            }
            return new ResumeFetch(seek.booleanValue());
        }
        throw new IllegalArgumentException("unknown command");
    }
}
