package faultline;

import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerInterceptor;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Reports the commits of the Java consumer's own auto commit (commit
 * {@code auto}): the client has no callback for them, but it hands every
 * successful commit to its interceptors' {@code onCommit}, with the offsets
 * it sent. A failed auto commit reaches no interceptor; the client logs it
 * (WARN), which the worker reports as a client-error (see {@link LogProvider}).
 *
 * <p>Installed (interceptor.classes) only for {@code auto}: under the other
 * strategies the worker makes every commit itself and reports it there. The
 * classic consumer may call onCommit from its heartbeat thread; events are
 * written under a lock, so that is safe.
 */
public final class AutoCommitReporter implements ConsumerInterceptor<byte[], byte[]> {
    /** The one topic the worker consumes; set before the consumer is created. */
    static volatile String topic;

    @Override
    public ConsumerRecords<byte[], byte[]> onConsume(ConsumerRecords<byte[], byte[]> records) {
        return records;
    }

    @Override
    public void onCommit(Map<TopicPartition, OffsetAndMetadata> offsets) {
        Map<Integer, Long> ours = new TreeMap<>();
        for (Map.Entry<TopicPartition, OffsetAndMetadata> e : offsets.entrySet()) {
            if (e.getKey().topic().equals(topic) && e.getValue() != null) {
                ours.put(e.getKey().partition(), e.getValue().offset());
            }
        }
        ours.forEach((p, o) -> Events.committed(p, o, null));
    }

    @Override
    public void close() {}

    @Override
    public void configure(Map<String, ?> configs) {}
}
