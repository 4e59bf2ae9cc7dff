package faultline;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.RangeAssignor;
import org.apache.kafka.clients.consumer.RoundRobinAssignor;
import org.apache.kafka.common.KafkaException;

/**
 * The scenario's properties (librdkafka names) turned into Java consumer
 * settings. A property the Java consumer knows by the same name goes to it
 * as it is; partition.assignment.strategy is mapped; anything else, or a
 * value the Java consumer refuses, is returned as a problem for the caller
 * to report as a client-error, and left out.
 */
final class Props {
    /** Settings the adapter makes from the spec itself. */
    static final Set<String> FROM_SPEC = Set.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
            ConsumerConfig.GROUP_ID_CONFIG,
            ConsumerConfig.GROUP_PROTOCOL_CONFIG,
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
            "enable.auto.offset.store",
            ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
            ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
            ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG);

    /** What the Java consumer refuses under group.protocol=consumer (KIP-848: the broker decides these). */
    static final Set<String> NOT_WITH_CONSUMER_PROTOCOL = Set.of(
            ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG,
            ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG,
            ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG);

    /**
     * librdkafka names whose Java name differs but which mean the same:
     * the longest wait of a fetch at the broker, and the timeout of a
     * request on the wire (librdkafka's socket.timeout.ms, Java's
     * request.timeout.ms; it bounds a heartbeat to a broker that stopped
     * answering).
     */
    static final Map<String, String> SYNONYMS = Map.of(
            "fetch.wait.max.ms", ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG,
            "socket.timeout.ms", ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG);

    final Map<String, Object> settings = new TreeMap<>();
    final List<String> problems = new ArrayList<>();

    private Props() {}

    /**
     * Maps the properties. {@code base} is the configuration the adapter
     * builds from the spec: each property is checked against it by
     * constructing a ConsumerConfig, so a value the Java client would refuse
     * at start is caught and reported here, one property at a time.
     */
    static Props map(Map<String, String> properties, Map<String, Object> base, boolean consumerProtocol) {
        Props out = new Props();
        for (Map.Entry<String, String> e : new TreeMap<>(properties).entrySet()) {
            String k = e.getKey();
            String v = e.getValue();
            if (FROM_SPEC.contains(k)) {
                out.problems.add("property " + k + " is not applied: the Java adapter sets it from the spec"
                        + " (bootstrap, group, protocol, commit)");
                continue;
            }
            String name = SYNONYMS.getOrDefault(k, k);
            Object value = v;
            if (consumerProtocol && NOT_WITH_CONSUMER_PROTOCOL.contains(name)) {
                out.problems.add("property " + k + " is not applied: the Java consumer refuses it under"
                        + " group.protocol=consumer (KIP-848: the broker's group.consumer.* settings decide it)");
                continue;
            }
            if (name.equals(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG)) {
                try {
                    value = assignors(v);
                } catch (IllegalArgumentException ex) {
                    out.problems.add("property " + k + "=\"" + v + "\": " + ex.getMessage() + "; ignored");
                    continue;
                }
            } else if (!ConsumerConfig.configNames().contains(name)) {
                out.problems.add("property " + k + " is not a Java consumer setting; ignored");
                continue;
            }
            Map<String, Object> trial = new HashMap<>(base);
            trial.put(name, value);
            // A client id of its own, so that validating does not use up
            // the client's numbering (consumer-<group>-<n>).
            trial.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "faultline-java-check");
            try {
                new QuietConfig(trial);
            } catch (KafkaException ex) {
                out.problems.add("property " + k + "=\"" + v + "\" is refused by the Java consumer ("
                        + ex.getMessage() + "); ignored");
                continue;
            }
            out.settings.put(name, value);
        }
        return out;
    }

    /** librdkafka's strategies (comma-separated, in order of preference) as the Java assignor classes. */
    static String assignors(String v) {
        List<String> out = new ArrayList<>();
        for (String s : v.split(",")) {
            String name = s.trim();
            switch (name) {
                case "range" -> out.add(RangeAssignor.class.getName());
                case "roundrobin" -> out.add(RoundRobinAssignor.class.getName());
                case "cooperative-sticky" -> out.add(CooperativeStickyAssignor.class.getName());
                default -> {
                    if (name.isEmpty()) {
                        continue;
                    }
                    throw new IllegalArgumentException("unknown strategy \"" + name
                            + "\" (the Java adapter maps range, roundrobin, cooperative-sticky)");
                }
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no strategy");
        }
        return String.join(",", out);
    }

    /** A ConsumerConfig that validates without logging every value. */
    static final class QuietConfig extends ConsumerConfig {
        QuietConfig(Map<String, Object> props) {
            super(props, false);
        }
    }
}
