//! Which broker holds a role right now: a group's coordinator and a
//! partition's leader. Asked through the proxies, as clients ask, when a
//! fault aimed at a role starts.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use super::{ClusterError, ClusterResult};

/// How long a role may take to be known (a coordinator still loading).
const WAIT: Duration = Duration::from_secs(15);
/// One broker's answer; a paused one gives none.
const ASK: Duration = Duration::from_secs(2);

/// The coordinator of `group`: FindCoordinator, asked of each broker in
/// `bootstrap` in turn until one answers without a retriable error.
pub async fn coordinator(bootstrap: &str, group: &str) -> ClusterResult<u32> {
    let deadline = Instant::now() + WAIT;
    let mut last = String::from("no broker to ask");
    loop {
        for addr in bootstrap.split(',') {
            match timeout(ASK, find_coordinator(addr, group)).await {
                Ok(Ok(Answer::Node(id))) => return Ok(id),
                Ok(Ok(Answer::Retry(code))) => last = format!("{addr} answered error {code}"),
                Ok(Err(e)) => last = format!("{addr}: {e}"),
                Err(_) => last = format!("{addr} did not answer within {ASK:?}"),
            }
        }
        if Instant::now() >= deadline {
            let what = format!("cannot find the coordinator of group {group} ({last})");
            return Err(ClusterError::Io { what, source: std::io::Error::other(last) });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

enum Answer {
    Node(u32),
    /// COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR.
    Retry(i16),
}

/// FindCoordinator v2 (the librdkafka mock and Kafka 4 both serve it; no
/// tagged fields, so it is a few bytes by hand).
async fn find_coordinator(addr: &str, group: &str) -> std::io::Result<Answer> {
    let mut req = Vec::new();
    req.extend(10i16.to_be_bytes()); // FindCoordinator
    req.extend(2i16.to_be_bytes());
    req.extend(1i32.to_be_bytes()); // correlation id
    put_str(&mut req, "faultline-nemesis");
    put_str(&mut req, group);
    req.push(0); // key type: group
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(&(req.len() as i32).to_be_bytes()).await?;
    stream.write_all(&req).await?;
    let len = stream.read_i32().await?;
    if !(0..1 << 20).contains(&len) {
        return Err(bad(format!("a response of {len} bytes")));
    }
    let mut buf = vec![0; len as usize];
    stream.read_exact(&mut buf).await?;
    parse(&buf)
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    buf.extend((s.len() as i16).to_be_bytes());
    buf.extend(s.as_bytes());
}

fn bad(what: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("not a FindCoordinator response: {what}"))
}

/// correlation id, throttle, error code, error message, node id, host, port.
fn parse(buf: &[u8]) -> std::io::Result<Answer> {
    let mut at = 0;
    let mut take = |n: usize| {
        let part = buf.get(at..at + n).ok_or_else(|| bad(format!("cut short at byte {at}")))?;
        at += n;
        Ok::<_, std::io::Error>(part)
    };
    let _correlation = take(4)?;
    let _throttle = take(4)?;
    let code = i16::from_be_bytes(take(2)?.try_into().expect("2 bytes"));
    let message = i16::from_be_bytes(take(2)?.try_into().expect("2 bytes"));
    if message > 0 {
        take(message as usize)?;
    }
    let node = i32::from_be_bytes(take(4)?.try_into().expect("4 bytes"));
    match code {
        0 => u32::try_from(node).map(Answer::Node).map_err(|_| bad(format!("node id {node}"))),
        // COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR.
        14..=16 => Ok(Answer::Retry(code)),
        _ => Err(std::io::Error::other(format!("FindCoordinator failed with error code {code}"))),
    }
}

/// The leader of `partition` of `topic`, from a metadata request.
pub async fn leader(bootstrap: &str, topic: &str, partition: u32) -> ClusterResult<u32> {
    let (bootstrap, topic) = (bootstrap.to_string(), topic.to_string());
    let failed = |why: String| ClusterError::Io {
        what: format!("cannot find the leader of partition {partition}"),
        source: std::io::Error::other(why),
    };
    let asked = tokio::task::spawn_blocking(move || {
        let client: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("client.id", "faultline-nemesis")
            .create()
            .map_err(|e| e.to_string())?;
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let md = client.fetch_metadata(Some(&topic), ASK).map_err(|e| e.to_string());
            let leader = md.as_ref().ok().and_then(|md| {
                let t = md.topics().iter().find(|t| t.name() == topic)?;
                let p = t.partitions().iter().find(|p| p.id() == partition as i32)?;
                u32::try_from(p.leader()).ok().filter(|_| p.error().is_none())
            });
            match leader {
                Some(id) => return Ok(id),
                None if std::time::Instant::now() >= deadline => {
                    return Err(md.err().unwrap_or_else(|| format!("topic {topic} has no leader for it")))
                }
                None => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    })
    .await
    .map_err(|e| failed(e.to_string()))?;
    asked.map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_node_and_retries_what_is_retriable() {
        let response = |code: i16, node: i32| {
            let mut b = vec![0, 0, 0, 1, 0, 0, 0, 0];
            b.extend(code.to_be_bytes());
            b.extend(2i16.to_be_bytes());
            b.extend(b"ok");
            b.extend(node.to_be_bytes());
            b.extend(4i16.to_be_bytes());
            b.extend(b"host");
            b.extend(9092i32.to_be_bytes());
            b
        };
        assert!(matches!(parse(&response(0, 3)), Ok(Answer::Node(3))));
        assert!(matches!(parse(&response(15, -1)), Ok(Answer::Retry(15))));
        assert!(parse(&response(24, -1)).is_err(), "an invalid group id is no retry");
        assert!(parse(&response(0, 3)[..9]).is_err(), "cut short");
    }

    /// On librdkafka's mock, whose coordinators and leaders can be set: the
    /// lookups name the broker that holds the role, and follow it when it
    /// moves.
    #[test]
    fn finds_the_coordinator_and_the_leader_the_cluster_says() {
        use rdkafka::mocking::{MockCluster, MockCoordinator};
        let mock = MockCluster::new(3).expect("mock cluster");
        mock.create_topic("t", 3, 1).expect("topic");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let bootstrap = mock.bootstrap_servers();
        for broker in [2, 3, 1] {
            mock.coordinator(MockCoordinator::Group("g".into()), broker).expect("set");
            mock.partition_leader("t", 1, Some(broker)).expect("set");
            assert_eq!(rt.block_on(coordinator(&bootstrap, "g")).expect("coordinator"), broker as u32);
            assert_eq!(rt.block_on(leader(&bootstrap, "t", 1)).expect("leader"), broker as u32);
        }
    }
}
