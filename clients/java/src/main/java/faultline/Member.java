package faultline;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.InvalidGroupIdException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.errors.WakeupException;

/**
 * The consumer: one member of a group, on the Java client's own group
 * membership, commits, pause/resume and seeks. It mirrors the built-in
 * librdkafka worker (harness/src/workers/consumer.rs) in what it reports and
 * when.
 *
 * <p>Everything here runs on the poll thread: KafkaConsumer is
 * single-threaded, and it runs the rebalance listener and the commitAsync
 * callbacks inside poll (or inside commitSync / close), on the caller's
 * thread. So the assignment never changes while a record is being processed,
 * which is the guarantee the reference gets from librdkafka running its
 * callbacks inside poll.
 */
final class Member implements ConsumerRebalanceListener {
    enum Strategy {
        AUTO,
        AUTO_STORE_AFTER_PROCESSING,
        SYNC_EACH,
        SYNC_BATCH,
        ASYNC;

        static Strategy parse(String s) {
            return switch (s) {
                case "auto" -> AUTO;
                case "auto-store-after-processing" -> AUTO_STORE_AFTER_PROCESSING;
                case "sync-each" -> SYNC_EACH;
                case "sync-batch" -> SYNC_BATCH;
                case "async" -> ASYNC;
                default -> null;
            };
        }

        boolean explicit() {
            return this == SYNC_EACH || this == SYNC_BATCH || this == ASYNC;
        }
    }

    /** Why the poll loop ended. */
    enum Exit {
        STOP,
        BOUNDED,
        IDLE
    }

    /** A fatal client error: the worker reports it and exits non-zero. */
    static final class Fatal extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Fatal(String msg, Throwable cause) {
            super(msg, cause);
        }
    }

    /** How long one poll waits for records (the reference polls 100 ms). */
    static final Duration POLL = Duration.ofMillis(100);
    /** Broker queries: high watermarks, positions. */
    static final Duration QUERY_TIMEOUT = Duration.ofSeconds(10);
    /** How long to wait, when leaving, for asynchronous commits to answer. */
    static final Duration ASYNC_COMMIT_WAIT = Duration.ofSeconds(30);

    private final Worker.ConsumerSpec spec;
    private final Strategy strategy;
    private final String topic;
    private final Commands commands;
    /** auto-store-after-processing: how often the marked offsets are committed. */
    private final long markCommitIntervalNs;
    KafkaConsumer<byte[], byte[]> consumer;

    /** The partitions of the topic this member holds. */
    private final TreeSet<Integer> assigned = new TreeSet<>();
    /** Fetching was paused on request: keep it paused across rebalances. */
    private boolean paused;
    /** Explicit strategies: the next offset to commit per partition (records processed since the last commit). */
    private final TreeMap<Integer, OffsetAndMetadata> pending = new TreeMap<>();
    private long sinceCommit;
    /** auto-store-after-processing: the offset after the last processed record per partition. */
    private final TreeMap<Integer, OffsetAndMetadata> marks = new TreeMap<>();
    /** auto-store-after-processing: the mark last handed to a commit, per partition. */
    private final Map<Integer, Long> markSent = new HashMap<>();
    private long nextMarkCommit;
    /** Asynchronous commits not answered yet. */
    private int inflight;
    /** Bounded mode: the offsets to stop at (null when unbounded). */
    private final Map<Integer, Long> snapshot;
    /** Bounded mode: partitions that reached their snapshot, and those of them this member paused. */
    private final Set<Integer> done = new HashSet<>();
    private final Set<Integer> stopped = new HashSet<>();
    /** The poll thread is inside poll(): only then does a stop call wakeup(). */
    private volatile boolean inPoll;
    /** hold-record came: the next record handed to the application is held before processing. */
    private boolean hold;

    Member(Worker.ConsumerSpec spec, Strategy strategy, Commands commands, long markCommitIntervalMs) {
        this.spec = spec;
        this.strategy = strategy;
        this.topic = spec.topic;
        this.commands = commands;
        this.markCommitIntervalNs = Math.max(1, markCommitIntervalMs) * 1_000_000L;
        if (spec.snapshot != null) {
            snapshot = new HashMap<>();
            for (long[] po : spec.snapshot) {
                snapshot.put((int) po[0], po[1]);
            }
        } else {
            snapshot = null;
        }
    }

    /** For the command reader: cut a blocking poll short when a stop arrives. */
    void wakeupIfPolling() {
        if (inPoll && consumer != null) {
            consumer.wakeup();
        }
    }

    private TopicPartition tp(int p) {
        return new TopicPartition(topic, p);
    }

    private List<TopicPartition> tps(Collection<Integer> ps) {
        List<TopicPartition> out = new ArrayList<>(ps.size());
        for (int p : new TreeSet<>(ps)) {
            out.add(tp(p));
        }
        return out;
    }

    private TreeSet<Integer> ours(Collection<TopicPartition> parts) {
        TreeSet<Integer> out = new TreeSet<>();
        for (TopicPartition t : parts) {
            if (t.topic().equals(topic)) {
                out.add(t.partition());
            }
        }
        return out;
    }

    /**
     * Runs a blocking consumer call. A wakeup() meant for a poll can land on
     * the next blocking call instead (the reader saw the poll thread inside
     * poll just as it left it): the stop it stands for is in the command
     * queue already, so the call is simply made again.
     */
    private static <T> T unwoken(Supplier<T> call) {
        while (true) {
            try {
                return call.get();
            } catch (WakeupException e) {
                // once more; the wakeup is used up
            }
        }
    }

    /** Errors after which the consumer cannot go on (the client says: close it). */
    private static boolean fatal(KafkaException e) {
        return e instanceof FencedInstanceIdException
                || e instanceof AuthenticationException
                || e instanceof AuthorizationException
                || e instanceof InvalidGroupIdException
                || e instanceof UnsupportedVersionException;
    }

    // ---- rebalance listener (called inside poll / commitSync / close, on this thread) ----

    private int generation() {
        try {
            return consumer.groupMetadata().generationId();
        } catch (RuntimeException e) {
            return -1;
        }
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
        TreeSet<Integer> ps = ours(partitions);
        // The Java client calls this after every rebalance with the newly
        // added partitions, which may be none: reported like the reference
        // and the Go adapters do, as `assigned` with [].
        Events.partsGeneration("assigned", ps, generation());
        assigned.addAll(ps);
        for (int p : ps) {
            stopped.remove(p);
        }
        // Called before fetching of these partitions starts: pausing here
        // means no record of theirs is fetched while paused.
        if (paused && !ps.isEmpty()) {
            consumer.pause(tps(ps));
        }
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
        TreeSet<Integer> ps = ours(partitions);
        if (ps.isEmpty()) {
            // The eager protocol calls it before every rebalance, also
            // with nothing to give up: only a real revoke is reported.
            return;
        }
        Events.partsGeneration("revoked", ps, generation());
        if (strategy == Strategy.AUTO_STORE_AFTER_PROCESSING) {
            // As librdkafka commits the stored offsets when it unassigns,
            // and franz-go's default revoke commits the marks: a blocking
            // commit of the marks while the partitions are still ours.
            commitMarks(true);
        }
        forget(ps);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
        TreeSet<Integer> ps = ours(partitions);
        if (ps.isEmpty()) {
            return;
        }
        // Lost: no commit can go out for them any more (the default
        // onPartitionsLost would call onPartitionsRevoked).
        Events.partsGeneration("lost", ps, generation());
        forget(ps);
    }

    /**
     * Offsets pending on a partition that was revoked or lost are not
     * committed in a later assignment: the member may get the partition back
     * from an older commit and would move the group's offset backwards when
     * it commits again. Those records come again instead (redelivery).
     * Partitions the member keeps (a partial, cooperative revoke) keep theirs.
     */
    private void forget(Collection<Integer> ps) {
        for (int p : ps) {
            assigned.remove(p);
            pending.remove(p);
            marks.remove(p);
            markSent.remove(p);
            stopped.remove(p);
        }
    }

    // ---- the poll loop ----

    Exit run() {
        long lastRecord = System.nanoTime();
        Long idleNs = spec.idleExitMs == null ? null : spec.idleExitMs * 1_000_000L;
        nextMarkCommit = System.nanoTime() + markCommitIntervalNs;
        while (true) {
            if (drainCommands()) {
                return Exit.STOP;
            }
            if (snapshot != null && boundedDone()) {
                return Exit.BOUNDED;
            }
            if (idleNs != null && System.nanoTime() - lastRecord >= idleNs) {
                return Exit.IDLE;
            }
            maybeCommitMarks();
            ConsumerRecords<byte[], byte[]> records = poll();
            if (records.isEmpty()) {
                continue;
            }
            List<ConsumerRecord<byte[], byte[]>> batch = new ArrayList<>(records.count());
            records.forEach(batch::add);
            for (int i = 0; i < batch.size(); i++) {
                lastRecord = System.nanoTime();
                if (!handle(batch.get(i))) {
                    // Stopped while holding this record: it and the rest of
                    // the batch stay unprocessed, and no position past them
                    // is left for close() to commit.
                    rewind(batch.subList(i, batch.size()));
                    return Exit.STOP;
                }
                maybeCommitMarks();
                if (i + 1 < batch.size() && commands.waiting()) {
                    // A command is waiting: leave the rest of the batch, so
                    // a stop or a pause takes effect after this record.
                    rewind(batch.subList(i + 1, batch.size()));
                    break;
                }
            }
        }
    }

    /**
     * auto-store-after-processing: the periodic commit of the marks, as
     * librdkafka's auto commit timer commits the stored offsets. The Java
     * consumer has no timer thread for the application's commits, so the
     * poll loop looks at the clock between polls and between the records of
     * a batch (a commitAsync cannot change the assignment).
     */
    private void maybeCommitMarks() {
        if (strategy == Strategy.AUTO_STORE_AFTER_PROCESSING && System.nanoTime() - nextMarkCommit >= 0) {
            commitMarks(false);
            nextMarkCommit = System.nanoTime() + markCommitIntervalNs;
        }
    }

    private ConsumerRecords<byte[], byte[]> poll() {
        inPoll = true;
        try {
            return consumer.poll(POLL);
        } catch (WakeupException e) {
            return ConsumerRecords.empty();
        } catch (InterruptException e) {
            throw new Fatal("poll interrupted", e);
        } catch (KafkaException e) {
            if (fatal(e)) {
                throw new Fatal("poll: " + e, e);
            }
            Events.clientError("poll: " + e);
            LockSupport.parkNanos(POLL.toNanos());
            return ConsumerRecords.empty();
        } finally {
            inPoll = false;
        }
    }

    /**
     * The records of a batch the worker will not process now: each partition
     * goes back to its first unprocessed offset, so that they are fetched
     * again, and so that no position past them (which the auto commit would
     * commit, at the next poll or on close) remains.
     */
    private void rewind(List<ConsumerRecord<byte[], byte[]>> rest) {
        Map<Integer, ConsumerRecord<byte[], byte[]>> first = new LinkedHashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : rest) {
            first.putIfAbsent(r.partition(), r);
        }
        for (ConsumerRecord<byte[], byte[]> r : first.values()) {
            int p = r.partition();
            if (!assigned.contains(p) || stopped.contains(p)) {
                continue;
            }
            // Without the record's leader epoch: a seek with one leaves the
            // position awaiting validation (OffsetsForLeaderEpoch), and
            // such a position is not committed by the auto commit in close().
            consumer.seek(tp(p), r.offset());
        }
    }

    /** Handles the commands waiting; true on stop. */
    private boolean drainCommands() {
        Commands.Command c;
        while ((c = commands.poll()) != null) {
            if (c instanceof Commands.Stop) {
                return true;
            } else if (c instanceof Commands.PauseFetch) {
                pauseFetch();
            } else if (c instanceof Commands.ResumeFetch r) {
                resumeFetch(r.seekToEnd());
            } else if (c instanceof Commands.HoldRecord) {
                hold = true;
            } else if (c instanceof Commands.ReleaseRecord) {
                // Nothing held yet: the release cancels the armed hold.
                hold = false;
            }
        }
        return false;
    }

    /**
     * Holds record (p, o): blocks the poll thread, the one that polls and
     * commits, until release-record. The client's own threads go on (the
     * classic heartbeat thread, the KIP-848 background thread), and so does
     * its max.poll.interval.ms timer: this is how a record outlasts it. The
     * thread waits on the command queue itself, so a release, a stop or the
     * end of stdin (a stop) wakes it; a stop never calls wakeup() here, as
     * the thread is not inside poll(). pause-fetch and resume-fetch are
     * answered meanwhile (neither polls), as the built-in worker does. False: a stop came, and the record stays
     * unprocessed.
     */
    private boolean holdRecord(int p, long o) {
        Events.holdingRecord(p, o);
        while (true) {
            Commands.Command c;
            try {
                c = commands.take();
            } catch (InterruptedException e) {
                throw new Fatal("interrupted while holding a record", e);
            }
            if (c instanceof Commands.ReleaseRecord) {
                return true;
            } else if (c instanceof Commands.Stop) {
                return false;
            } else if (c instanceof Commands.PauseFetch) {
                pauseFetch();
            } else if (c instanceof Commands.ResumeFetch r) {
                resumeFetch(r.seekToEnd());
            }
            // A second hold-record while holding: already holding, ignored.
        }
    }

    /** Processes one record (holding it first if a hold is armed); false if a stop came during its hold. */
    private boolean handle(ConsumerRecord<byte[], byte[]> rec) {
        int p = rec.partition();
        long o = rec.offset();
        if (!assigned.contains(p)) {
            // Cannot happen (the assignment only changes inside poll);
            // never process a record of a partition not held.
            return true;
        }
        Long hwm = snapshot == null ? null : snapshot.get(p);
        if (hwm != null && o >= hwm) {
            // Past the snapshot: not ours to process. Stop fetching it and
            // rewind so no later commit runs past it.
            finishPartition(p, hwm);
            return true;
        }
        if (stopped.contains(p)) {
            return true;
        }
        if (hold) {
            hold = false;
            if (!holdRecord(p, o)) {
                return false;
            }
            // Released. After a hold past max.poll.interval.ms the client has
            // left the group, but the listener only runs at the next poll, so
            // the record is still ours as far as this thread can tell: it is
            // processed (by a zombie), as in any application that overran
            // the poll interval, and its commit mostly fails (README,
            // "Holding a record").
        }
        RecordId id = RecordId.decode(rec.value());
        if (spec.processingUs > 0) {
            sleepMicros(spec.processingUs);
        }
        // Reported (and out of the process) before the offset is marked or committed.
        Events.processed(p, o, id.producer(), id.seq());
        OffsetAndMetadata next = new OffsetAndMetadata(o + 1, rec.leaderEpoch(), "");
        switch (strategy) {
            case AUTO -> {}
            case AUTO_STORE_AFTER_PROCESSING -> marks.put(p, next);
            default -> {
                pending.put(p, next);
                sinceCommit++;
                long batch = strategy == Strategy.SYNC_EACH ? 1 : spec.batch;
                if (sinceCommit >= batch) {
                    commitPending(strategy == Strategy.ASYNC);
                }
            }
        }
        if (hwm != null && o + 1 >= hwm) {
            finishPartition(p, hwm);
        }
        return true;
    }

    private static void sleepMicros(long us) {
        // Thread.sleep on Java 17 rounds a sub-millisecond sleep up to a
        // whole millisecond; parkNanos is as precise as the OS timer.
        long deadline = System.nanoTime() + us * 1_000L;
        long left;
        while ((left = deadline - System.nanoTime()) > 0) {
            LockSupport.parkNanos(left);
        }
    }

    // ---- commits ----

    private void report(Map<Integer, OffsetAndMetadata> offsets, Exception err) {
        String msg = err == null ? null : err.toString();
        for (Map.Entry<Integer, OffsetAndMetadata> e : new TreeMap<>(offsets).entrySet()) {
            Events.committed(e.getKey(), e.getValue().offset(), msg);
        }
    }

    private Map<TopicPartition, OffsetAndMetadata> request(Map<Integer, OffsetAndMetadata> offsets) {
        Map<TopicPartition, OffsetAndMetadata> out = new LinkedHashMap<>();
        offsets.forEach((p, o) -> out.put(tp(p), o));
        return out;
    }

    /**
     * Explicit strategies: commits the offsets after the records processed
     * since the last commit, for partitions still assigned, and reports each
     * partition's result with the offset sent.
     */
    void commitPending(boolean async) {
        sinceCommit = 0;
        pending.keySet().retainAll(assigned);
        if (pending.isEmpty()) {
            return;
        }
        Map<Integer, OffsetAndMetadata> offsets = new TreeMap<>(pending);
        if (async) {
            // Issued now, reported when the broker answers (the callback runs
            // inside a later poll or commit on this thread). Like the
            // reference, what was handed to the asynchronous commit is no
            // longer pending.
            inflight++;
            try {
                consumer.commitAsync(request(offsets), (sent, err) -> {
                    inflight--;
                    report(offsets, err);
                });
            } catch (KafkaException e) {
                inflight--;
                report(offsets, e);
                if (fatal(e)) {
                    throw new Fatal("commit: " + e, e);
                }
            }
            pending.clear();
            return;
        }
        try {
            unwoken(() -> {
                consumer.commitSync(request(offsets));
                return null;
            });
        } catch (KafkaException e) {
            // Kept pending: the next commit tries again.
            report(offsets, e);
            if (fatal(e)) {
                throw new Fatal("commit: " + e, e);
            }
            return;
        }
        report(offsets, null);
        offsets.forEach((p, o) -> pending.remove(p, o));
    }

    /**
     * auto-store-after-processing: commits the marks that moved since they
     * were last handed to a commit, for partitions still assigned;
     * synchronously (on revoke and on leaving) or asynchronously (the
     * periodic commit from the poll loop).
     */
    private void commitMarks(boolean sync) {
        marks.keySet().retainAll(assigned);
        Map<Integer, OffsetAndMetadata> offsets = new TreeMap<>();
        marks.forEach((p, o) -> {
            Long sent = markSent.get(p);
            if (sent == null || sent != o.offset()) {
                offsets.put(p, o);
            }
        });
        if (offsets.isEmpty()) {
            return;
        }
        offsets.forEach((p, o) -> markSent.put(p, o.offset()));
        if (!sync) {
            inflight++;
            try {
                consumer.commitAsync(request(offsets), (sent, err) -> {
                    inflight--;
                    report(offsets, err);
                    if (err != null) {
                        // Send it again with the next commit.
                        offsets.forEach((p, o) -> markSent.remove(p, o.offset()));
                    }
                });
            } catch (KafkaException e) {
                inflight--;
                report(offsets, e);
                offsets.forEach((p, o) -> markSent.remove(p, o.offset()));
                if (fatal(e)) {
                    throw new Fatal("commit: " + e, e);
                }
            }
            return;
        }
        try {
            unwoken(() -> {
                consumer.commitSync(request(offsets));
                return null;
            });
        } catch (KafkaException e) {
            report(offsets, e);
            offsets.forEach((p, o) -> markSent.remove(p, o.offset()));
            if (fatal(e)) {
                throw new Fatal("commit: " + e, e);
            }
            return;
        }
        report(offsets, null);
    }

    /**
     * Leaving (stop, bounded or idle end): the explicit strategies commit
     * what they processed since their last commit, auto-store-after-processing
     * its marks; then the answers of asynchronous commits are waited for.
     */
    void finalCommit() {
        switch (strategy) {
            case AUTO -> {}
            case AUTO_STORE_AFTER_PROCESSING -> commitMarks(true);
            default -> commitPending(false);
        }
        awaitAsyncCommits();
    }

    /**
     * commitSync of nothing returns once every earlier commitAsync has
     * answered and its callback has run (Kafka 3.7+, both group protocols).
     */
    private void awaitAsyncCommits() {
        long deadline = System.nanoTime() + ASYNC_COMMIT_WAIT.toNanos();
        while (inflight > 0 && System.nanoTime() - deadline < 0) {
            try {
                unwoken(() -> {
                    consumer.commitSync(Map.of(), Duration.ofSeconds(1));
                    return null;
                });
            } catch (KafkaException e) {
                if (!(e instanceof org.apache.kafka.common.errors.TimeoutException)) {
                    Events.clientError("waiting for asynchronous commits: " + e);
                    LockSupport.parkNanos(POLL.toNanos());
                }
            }
        }
        if (inflight > 0) {
            System.err.println("faultline-java: " + inflight + " asynchronous commit(s) still unanswered when leaving");
        }
    }

    // ---- bounded mode ----

    /**
     * Bounded mode: partition p reached its snapshot. Stop fetching it and
     * move its position back to the snapshot, so neither a record past it
     * nor a commit past it follows.
     */
    private void finishPartition(int p, long hwm) {
        done.add(p);
        if (stopped.add(p)) {
            consumer.pause(List.of(tp(p)));
            consumer.seek(tp(p), hwm);
        }
    }

    /**
     * Bounded mode ends when every assigned partition has reached its
     * snapshot (by processing up to it, or by starting at or past it). A
     * partition the snapshot does not name has nothing to process.
     */
    private boolean boundedDone() {
        if (assigned.isEmpty()) {
            return false;
        }
        for (int p : assigned) {
            long hwm = snapshot.getOrDefault(p, 0L);
            if (hwm == 0) {
                done.add(p);
            } else if (!done.contains(p)) {
                Long pos = position(p, Duration.ofSeconds(1));
                if (pos != null && pos >= hwm) {
                    done.add(p);
                }
            }
            if (!done.contains(p)) {
                return false;
            }
        }
        return true;
    }

    /**
     * The consumer's position on p: where the next record comes from (past
     * every record polled, as the worker processes a whole batch or rewinds
     * what it leaves). For a partition nothing was polled from yet, the
     * client looks up the group's committed offset (or resets to the
     * earliest). Null if it cannot tell in time.
     */
    private Long position(int p, Duration timeout) {
        try {
            return unwoken(() -> consumer.position(tp(p), timeout));
        } catch (KafkaException e) {
            if (!(e instanceof org.apache.kafka.common.errors.TimeoutException)) {
                Events.clientError("position of partition " + p + ": " + e);
            }
            return null;
        }
    }

    // ---- pause / resume ----

    private void pauseFetch() {
        paused = true;
        TreeSet<Integer> parts = new TreeSet<>(assigned);
        if (!parts.isEmpty()) {
            consumer.pause(tps(parts));
        }
        Events.parts("fetch-paused", parts);
    }

    private void resumeFetch(boolean seekToEnd) {
        paused = false;
        TreeSet<Integer> parts = new TreeSet<>(assigned);
        if (seekToEnd && !parts.isEmpty()) {
            seekToEnd(parts);
        }
        List<Integer> resume = new ArrayList<>();
        for (int p : parts) {
            // A partition bounded mode finished stays paused.
            if (!stopped.contains(p)) {
                resume.add(p);
            }
        }
        if (!resume.isEmpty()) {
            consumer.resume(tps(resume));
        }
        Events.parts("fetch-resumed", parts);
    }

    /**
     * Moves each assigned partition below its high watermark to it, writing
     * a {@code seek} (before it seeks) for each one. {@code from} is the
     * consumer's position: the next record it would have handed over.
     */
    private void seekToEnd(Collection<Integer> parts) {
        List<TopicPartition> all = tps(parts);
        Map<TopicPartition, Long> ends;
        try {
            ends = unwoken(() -> consumer.endOffsets(all, QUERY_TIMEOUT));
        } catch (KafkaException e) {
            Events.clientError("seek_to_end: listing high watermarks: " + e);
            return;
        }
        for (int p : parts) {
            if (stopped.contains(p)) {
                continue;
            }
            Long end = ends.get(tp(p));
            Long from = position(p, QUERY_TIMEOUT);
            if (end == null || from == null) {
                Events.clientError("seek_to_end: partition " + p + ": no "
                        + (end == null ? "high watermark" : "position") + "; not moved");
                continue;
            }
            if (end > from) {
                Events.seek(p, from, end);
                consumer.seek(tp(p), end);
            }
        }
    }
}
