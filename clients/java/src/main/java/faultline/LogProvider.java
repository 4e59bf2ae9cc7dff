package faultline;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.slf4j.ILoggerFactory;
import org.slf4j.IMarkerFactory;
import org.slf4j.Logger;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;
import org.slf4j.simple.SimpleServiceProvider;
import org.slf4j.spi.LoggingEventBuilder;
import org.slf4j.spi.MDCAdapter;
import org.slf4j.spi.SLF4JServiceProvider;

/**
 * The worker's SLF4J provider: slf4j-simple (configured by
 * simplelogger.properties to write to stderr), with one addition. The Java
 * consumer has no error callback: what librdkafka hands to its error callback
 * (broker connection refused, a failed heartbeat or commit, a session that
 * timed out) the Java client only logs, at WARN or ERROR. Each such line of
 * the Kafka client is also reported as a {@code client-error}, as the Go
 * adapters report their client's warnings and errors.
 *
 * <p>Registered through META-INF/services; the jar leaves slf4j-simple's own
 * registration out, so this is the only provider SLF4J finds.
 */
public final class LogProvider implements SLF4JServiceProvider {
    private final SimpleServiceProvider simple = new SimpleServiceProvider();
    private ILoggerFactory factory;

    @Override
    public ILoggerFactory getLoggerFactory() {
        return factory;
    }

    @Override
    public IMarkerFactory getMarkerFactory() {
        return simple.getMarkerFactory();
    }

    @Override
    public MDCAdapter getMDCAdapter() {
        return simple.getMDCAdapter();
    }

    @Override
    public String getRequestedApiVersion() {
        return simple.getRequestedApiVersion();
    }

    @Override
    public void initialize() {
        simple.initialize();
        ILoggerFactory inner = simple.getLoggerFactory();
        ConcurrentMap<String, Logger> loggers = new ConcurrentHashMap<>();
        factory = name -> loggers.computeIfAbsent(name, n -> {
            Logger l = inner.getLogger(n);
            return n.startsWith("org.apache.kafka") ? new Reporting(l) : l;
        });
    }

    /** A Kafka client logger: logs through slf4j-simple, and reports warnings and errors. */
    static final class Reporting extends LegacyAbstractLogger {
        private static final long serialVersionUID = 1L;
        private final transient Logger inner;

        Reporting(Logger inner) {
            this.inner = inner;
            this.name = inner.getName();
        }

        @Override
        public boolean isTraceEnabled() {
            return inner.isTraceEnabled();
        }

        @Override
        public boolean isDebugEnabled() {
            return inner.isDebugEnabled();
        }

        @Override
        public boolean isInfoEnabled() {
            return inner.isInfoEnabled();
        }

        @Override
        public boolean isWarnEnabled() {
            return true;
        }

        @Override
        public boolean isErrorEnabled() {
            return true;
        }

        @Override
        protected String getFullyQualifiedCallerName() {
            return null;
        }

        @Override
        protected void handleNormalizedLoggingCall(
                Level level, Marker marker, String pattern, Object[] args, Throwable t) {
            if (inner.isEnabledForLevel(level)) {
                LoggingEventBuilder b = inner.atLevel(level);
                if (t != null) {
                    b = b.setCause(t);
                }
                if (args == null) {
                    b.log(pattern);
                } else {
                    b.log(pattern, args);
                }
            }
            if (level == Level.WARN || level == Level.ERROR) {
                String msg = MessageFormatter.basicArrayFormat(pattern, args);
                if (msg == null) {
                    msg = "";
                }
                // Kafka's log lines start with the client's context,
                // "[Consumer clientId=..., groupId=...] ": the member's own.
                if (msg.startsWith("[Consumer ")) {
                    int end = msg.indexOf("] ");
                    if (end > 0) {
                        msg = msg.substring(end + 2);
                    }
                }
                if (t != null) {
                    msg = msg + ": " + t;
                }
                Events.clientError(msg);
            }
        }
    }
}
