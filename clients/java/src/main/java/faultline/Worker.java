package faultline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.utils.AppInfoParser;

/**
 * faultline-java: a faultline consumer worker on Apache Kafka's own Java
 * consumer (org.apache.kafka:kafka-clients).
 *
 * <p>It speaks the worker protocol of docs/worker-protocol.md: the spec comes
 * in FAULTLINE_WORKER_SPEC, commands on stdin, events on stdout (one JSON
 * value per line, each written out before the worker acts on it), logs on
 * stderr. Group membership, commits and pausing are the client's own; the
 * adapter only decides when to call them and reports what the client does.
 */
public final class Worker {
    static final String SPEC_ENV = "FAULTLINE_WORKER_SPEC";
    static final String BACKEND_ENV = "FAULTLINE_BACKEND";
    /** Set to 1 to run against librdkafka's mock cluster all the same (see MOCK_REFUSAL). */
    static final String TRY_MOCK_ENV = "FAULTLINE_JAVA_ON_MOCK";
    static final String MOCK_REFUSAL = "the Java client cannot run against librdkafka's mock cluster"
            + " (FAULTLINE_BACKEND=mock): it opens every connection with ApiVersions v4; the mock supports"
            + " v0-v2 and answers v4 with a malformed UNSUPPORTED_VERSION response (a compact array length"
            + " of 1 for its one entry), which the client reads as errorCode=35, apiKeys=[],"
            + " throttleTimeMs=1179648. It retries with v0 and succeeds, but keeps the broker throttled for"
            + " those 1179648 ms (19.7 min): no metadata, no group, no records. The Java client has no"
            + " setting to cap request versions. Run it against Kafka (cluster.backend = \"docker\");"
            + " set " + TRY_MOCK_ENV + "=1 to try the mock anyway";
    /** auto-store-after-processing commits its marks this often unless auto.commit.interval.ms says otherwise. */
    static final long DEFAULT_AUTO_COMMIT_INTERVAL_MS = 5000;
    /** How long close() may take to commit, revoke and leave the group. */
    static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(30);

    /** The consumer's spec, as docs/worker-protocol.md describes it. */
    static final class ConsumerSpec {
        String group;
        String bootstrap;
        String topic;
        String commit;
        long batch;
        long processingUs;
        String protocol;
        /** [partition, offset] pairs, or null. */
        List<long[]> snapshot;
        Long idleExitMs;
        Map<String, String> properties = new TreeMap<>();
    }

    private Worker() {}

    public static void main(String[] args) {
        Events.claimStdout();
        Events.hello(AppInfoParser.getVersion());
        int code;
        try {
            code = run();
        } catch (Member.Fatal e) {
            code = fail(3, e.getMessage());
        } catch (RuntimeException | Error e) {
            e.printStackTrace(System.err);
            code = fail(3, "worker failed: " + e);
        }
        System.err.flush();
        // Runtime.exit, not a return: the client's own threads must not keep the JVM up.
        System.exit(code);
    }

    /** Reports why the worker cannot go on and returns its exit code. */
    static int fail(int code, String msg) {
        System.err.println("faultline-java: " + msg);
        Events.clientError(msg);
        return code;
    }

    static int run() {
        String raw = System.getenv(SPEC_ENV);
        if (raw == null) {
            return fail(2, "no " + SPEC_ENV + " (workers are started by `faultline run`)");
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(raw);
        } catch (Exception e) {
            return fail(2, SPEC_ENV + " is not a valid worker spec: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            return fail(2, SPEC_ENV + " is not a valid worker spec: not an object");
        }
        if (root.has("producer")) {
            return fail(2, "this adapter runs consumers only; a producer spec is for the built-in worker");
        }
        JsonNode c = root.get("consumer");
        if (c == null || !c.isObject()) {
            return fail(2, SPEC_ENV + " holds neither a consumer nor a producer");
        }
        ConsumerSpec spec;
        try {
            spec = parseSpec(c);
        } catch (IllegalArgumentException e) {
            return fail(2, SPEC_ENV + " is not a valid consumer spec: " + e.getMessage());
        }
        Member.Strategy strategy = Member.Strategy.parse(spec.commit);
        if (strategy == null) {
            return fail(2, "unknown commit strategy \"" + spec.commit + "\"");
        }
        if (!"classic".equals(spec.protocol) && !"consumer".equals(spec.protocol)) {
            return fail(2, "unknown group protocol \"" + spec.protocol + "\" (classic or consumer)");
        }
        if (isEmpty(spec.group) || isEmpty(spec.topic) || isEmpty(spec.bootstrap)) {
            return fail(2, "the consumer spec needs group, bootstrap and topic");
        }

        if ("mock".equals(System.getenv(BACKEND_ENV)) && !"1".equals(System.getenv(TRY_MOCK_ENV))) {
            return fail(2, MOCK_REFUSAL);
        }

        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, spec.bootstrap);
        config.put(ConsumerConfig.GROUP_ID_CONFIG, spec.group);
        config.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, spec.protocol);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, strategy == Member.Strategy.AUTO);
        if (strategy == Member.Strategy.AUTO) {
            AutoCommitReporter.topic = spec.topic;
            config.put(ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG, AutoCommitReporter.class.getName());
        }
        Props props = Props.map(spec.properties, config, "consumer".equals(spec.protocol));
        // The scenario's properties go last, so they win (as in the built-in worker).
        config.putAll(props.settings);
        long interval = DEFAULT_AUTO_COMMIT_INTERVAL_MS;
        Object setInterval = props.settings.get(ConsumerConfig.AUTO_COMMIT_INTERVAL_MS_CONFIG);
        if (setInterval != null) {
            interval = Long.parseLong(setInterval.toString().trim());
        }

        Commands commands = new Commands();
        Member member = new Member(spec, strategy, commands, interval);
        KafkaConsumer<byte[], byte[]> consumer;
        try {
            consumer = new KafkaConsumer<>(config);
        } catch (KafkaException e) {
            return fail(e instanceof ConfigException || e.getCause() instanceof ConfigException ? 2 : 3,
                    "creating the Java consumer: " + e + (e.getCause() != null ? " (" + e.getCause() + ")" : ""));
        }
        member.consumer = consumer;
        commands.onStop(member::wakeupIfPolling);
        commands.start();
        try {
            consumer.subscribe(List.of(spec.topic), member);
        } catch (KafkaException e) {
            closeQuietly(consumer);
            return fail(3, "subscribe: " + e);
        }
        Events.started(spec.group);
        for (String p : props.problems) {
            Events.clientError(p);
        }

        Member.Exit exit;
        try {
            exit = member.run();
            member.finalCommit();
        } catch (Member.Fatal e) {
            int code = fail(3, e.getMessage());
            closeQuietly(consumer);
            return code;
        }
        if (exit == Member.Exit.BOUNDED || exit == Member.Exit.IDLE) {
            Events.finished();
        }
        // Leaves the group: the listener reports the revoke, and (auto) the
        // client makes its last auto commit, reported by the interceptor.
        try {
            consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(CLOSE_TIMEOUT));
        } catch (KafkaException e) {
            Events.clientError("close: " + e);
        }
        return 0;
    }

    private static void closeQuietly(KafkaConsumer<byte[], byte[]> consumer) {
        try {
            consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(5)));
        } catch (RuntimeException e) {
            System.err.println("faultline-java: close: " + e);
        }
    }

    private static boolean isEmpty(String s) {
        return s == null || s.isEmpty();
    }

    static ConsumerSpec parseSpec(JsonNode c) {
        ConsumerSpec s = new ConsumerSpec();
        s.group = text(c, "group");
        s.bootstrap = text(c, "bootstrap");
        s.topic = text(c, "topic");
        s.commit = text(c, "commit");
        s.protocol = c.hasNonNull("protocol") ? text(c, "protocol") : "classic";
        s.batch = number(c, "batch", 1);
        s.processingUs = number(c, "processing_us", 0);
        JsonNode snap = c.get("snapshot");
        if (snap != null && !snap.isNull()) {
            if (!snap.isArray()) {
                throw new IllegalArgumentException("snapshot is not a list of [partition, offset]");
            }
            s.snapshot = new ArrayList<>();
            for (JsonNode pair : snap) {
                if (!pair.isArray() || pair.size() != 2 || !pair.get(0).canConvertToLong()
                        || !pair.get(1).canConvertToLong()) {
                    throw new IllegalArgumentException("a snapshot entry is [partition, offset], got " + pair);
                }
                s.snapshot.add(new long[] {pair.get(0).asLong(), pair.get(1).asLong()});
            }
        }
        JsonNode idle = c.get("idle_exit_ms");
        if (idle != null && !idle.isNull()) {
            if (!idle.canConvertToLong()) {
                throw new IllegalArgumentException("idle_exit_ms is not a number");
            }
            s.idleExitMs = idle.asLong();
        }
        JsonNode props = c.get("properties");
        if (props != null && !props.isNull()) {
            if (!props.isObject()) {
                throw new IllegalArgumentException("properties is not an object of strings");
            }
            props.properties().forEach(e -> s.properties.put(e.getKey(), e.getValue().asText()));
        }
        return s;
    }

    private static String text(JsonNode c, String field) {
        JsonNode v = c.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new IllegalArgumentException(field + " is not a string");
        }
        return v.asText();
    }

    private static long number(JsonNode c, String field, long dflt) {
        JsonNode v = c.get(field);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.canConvertToLong()) {
            throw new IllegalArgumentException(field + " is not a number");
        }
        return v.asLong();
    }
}
