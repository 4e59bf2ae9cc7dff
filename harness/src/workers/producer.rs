//! Producer worker: writes `records` records whose values name (producer,
//! seq), at `rate` per second, and reports each as sent, then acked or failed.

use std::time::{Duration, Instant};

use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, ClientContext, Message};

use super::emit::emit;
use super::ProducerWork;
use crate::ledger::{Event, RecordId};

struct Reporter {
    producer: u32,
}

impl ClientContext for Reporter {
    fn error(&self, error: KafkaError, reason: &str) {
        emit(&Event::ClientError { msg: format!("{error}: {reason}") });
    }
}

impl ProducerContext for Reporter {
    type DeliveryOpaque = Box<u64>;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: Box<u64>) {
        let id = RecordId { producer: self.producer, seq: *seq };
        match result {
            Ok(m) => emit(&Event::Acked { id, p: m.partition(), o: m.offset() }),
            Err((e, _)) => emit(&Event::Failed { id, msg: e.to_string() }),
        }
    }
}

pub fn run(work: ProducerWork) -> Result<(), KafkaError> {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &work.bootstrap)
        .set("acks", &work.acks)
        .set("enable.idempotence", work.idempotence.to_string());
    for (k, v) in &work.properties {
        config.set(k, v);
    }
    let producer: BaseProducer<Reporter> = config.create_with_context(Reporter { producer: work.index })?;
    emit(&Event::Started { role: crate::ledger::Role::Producer, group: None });

    let start = Instant::now();
    for seq in 0..work.records {
        if work.rate > 0 {
            let due = start + Duration::from_secs_f64(seq as f64 / work.rate as f64);
            while Instant::now() < due {
                producer.poll(due.saturating_duration_since(Instant::now()).min(Duration::from_millis(50)));
            }
        }
        let id = RecordId { producer: work.index, seq };
        let key = (work.keys > 0).then(|| format!("k{}", seq % work.keys));
        let value = id.encode();
        emit(&Event::Sent { id, key: key.clone() });
        let mut opaque = Box::new(seq);
        loop {
            let mut record = BaseRecord::with_opaque_to(&work.topic, opaque).payload(value.as_bytes());
            if let Some(k) = &key {
                record = record.key(k.as_bytes());
            }
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), rec)) => {
                    opaque = rec.delivery_opaque;
                    producer.poll(Duration::from_millis(10));
                }
                Err((e, rec)) => {
                    emit(&Event::Failed {
                        id: RecordId { producer: work.index, seq: *rec.delivery_opaque },
                        msg: e.to_string(),
                    });
                    break;
                }
            }
        }
        producer.poll(Duration::ZERO);
    }
    // Delivery reports for everything in flight; message.timeout.ms bounds it.
    while producer.in_flight_count() > 0 {
        producer.poll(Duration::from_millis(100));
    }
    emit(&Event::Finished);
    Ok(())
}
