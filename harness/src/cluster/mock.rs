//! librdkafka's embedded mock cluster. It is !Send, so it lives on a thread
//! of its own and the runner talks to it through a channel. Its brokers
//! listen on loopback, so worker processes reach it like a real cluster.

use std::sync::mpsc;
use std::time::Duration;

use rdkafka::mocking::MockCluster as RdMock;
use tokio::sync::oneshot;

use super::{Cluster, ClusterError, ClusterResult};
use crate::scenario::{CutMode, RestartMode};

enum Op {
    CreateTopic { name: String, partitions: u32, replication: u32 },
    Rtt { broker: u32, rtt: Duration },
    Down(u32),
    Up(u32),
    Shutdown,
}

type Request = (Op, oneshot::Sender<ClusterResult<()>>);

pub struct MockCluster {
    brokers: u32,
    bootstrap: String,
    ops: std::sync::Mutex<mpsc::Sender<Request>>,
}

impl MockCluster {
    pub fn start(brokers: u32) -> ClusterResult<MockCluster> {
        let (ready_tx, ready_rx) = mpsc::channel::<ClusterResult<String>>();
        let (ops_tx, ops_rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("mock-cluster".into())
            .spawn(move || {
                let cluster = match RdMock::new(brokers as i32) {
                    Ok(c) => c,
                    Err(e) => {
                        let what = "mock cluster did not start".into();
                        let _ = ready_tx.send(Err(ClusterError::Kafka { what, source: Box::new(e) }));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(cluster.bootstrap_servers()));
                for (op, reply) in ops_rx {
                    // The mock's errors do not say what was asked of it.
                    let (what, result) = match op {
                        Op::CreateTopic { name, partitions, replication } => (
                            format!("cannot create topic {name}"),
                            cluster.create_topic(&name, partitions as i32, replication as i32),
                        ),
                        Op::Rtt { broker, rtt } => (
                            format!("cannot set the round-trip time of broker {broker} to {rtt:?}"),
                            cluster.broker_round_trip_time(broker as i32, rtt),
                        ),
                        Op::Down(b) => (format!("cannot take broker {b} down"), cluster.broker_down(b as i32)),
                        Op::Up(b) => (format!("cannot bring broker {b} up"), cluster.broker_up(b as i32)),
                        Op::Shutdown => {
                            let _ = reply.send(Ok(()));
                            break;
                        }
                    };
                    let _ = reply.send(result.map_err(|source| ClusterError::Kafka { what, source: Box::new(source) }));
                }
                drop(cluster);
            })
            .map_err(|source| ClusterError::Io { what: "cannot start the mock cluster thread".into(), source })?;
        let bootstrap =
            ready_rx.recv().map_err(|_| ClusterError::Mock("mock cluster thread died while starting"))??;
        Ok(MockCluster { brokers, bootstrap, ops: std::sync::Mutex::new(ops_tx) })
    }

    async fn call(&self, op: Op) -> ClusterResult<()> {
        let (tx, rx) = oneshot::channel();
        self.ops
            .lock()
            .map_err(|_| ClusterError::Mock("mock cluster lock poisoned"))?
            .send((op, tx))
            .map_err(|_| ClusterError::Mock("mock cluster is gone"))?;
        rx.await.map_err(|_| ClusterError::Mock("mock cluster is gone"))?
    }
}

#[async_trait::async_trait]
impl Cluster for MockCluster {
    fn describe(&self) -> String {
        format!("mock (librdkafka), {} broker{}", self.brokers, if self.brokers == 1 { "" } else { "s" })
    }

    fn bootstrap(&self) -> String {
        self.bootstrap.clone()
    }

    async fn create_topic(&self, name: &str, partitions: u32, replication: u32) -> ClusterResult<()> {
        self.call(Op::CreateTopic { name: name.into(), partitions, replication }).await
    }

    /// The mock cannot freeze a broker; a round-trip time longer than the
    /// pause makes every request hang for it, which is what clients see.
    async fn pause_broker(&self, broker: u32, hint: Duration) -> ClusterResult<()> {
        self.call(Op::Rtt { broker, rtt: hint }).await
    }

    async fn resume_broker(&self, broker: u32) -> ClusterResult<()> {
        self.call(Op::Rtt { broker, rtt: Duration::ZERO }).await
    }

    async fn stop_broker(&self, broker: u32, _mode: RestartMode) -> ClusterResult<()> {
        self.call(Op::Down(broker)).await
    }

    async fn start_broker(&self, broker: u32) -> ClusterResult<()> {
        self.call(Op::Up(broker)).await
    }

    /// Both cut modes look like a broker that is down: its listener closes
    /// connections and refuses new ones.
    async fn cut_network(&self, broker: u32, _mode: CutMode) -> ClusterResult<()> {
        self.call(Op::Down(broker)).await
    }

    async fn heal_network(&self, broker: u32) -> ClusterResult<()> {
        self.call(Op::Up(broker)).await
    }

    async fn shutdown(&self) -> ClusterResult<()> {
        self.call(Op::Shutdown).await
    }
}
