//! The proxy on its own, in front of a tiny echo server on loopback.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use faultline::proxy::{Mode, Proxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// Echoes every byte back, one task per connection.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind echo server");
    let addr = listener.local_addr().expect("echo server address");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

async fn proxy() -> Proxy {
    let upstream = echo_server().await;
    Proxy::start("127.0.0.1:0".parse().expect("addr"), upstream).await.expect("start proxy")
}

/// Writes `msg` and reads the echo; Err(()) when no answer within `wait`.
async fn round_trip(s: &mut TcpStream, msg: &[u8], wait: Duration) -> Result<Vec<u8>, ()> {
    s.write_all(msg).await.map_err(|_| ())?;
    let mut buf = vec![0u8; msg.len()];
    match timeout(wait, s.read_exact(&mut buf)).await {
        Ok(Ok(_)) => Ok(buf),
        _ => Err(()),
    }
}

/// The peer reset the connection: RST (SO_LINGER 0), not FIN, not silence.
async fn assert_reset(s: &mut TcpStream, what: &str) {
    let mut buf = [0u8; 16];
    match timeout(WAIT, s.read(&mut buf)).await {
        Ok(Err(e)) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("{what}: expected a reset, got {other:?}"),
    }
}

const WAIT: Duration = Duration::from_secs(2);

#[tokio::test]
async fn forwards_both_ways() {
    let p = proxy().await;
    let mut s = TcpStream::connect(p.addr()).await.expect("connect");
    assert_eq!(round_trip(&mut s, b"hello", WAIT).await, Ok(b"hello".to_vec()));
    assert_eq!(p.mode(), Mode::NORMAL);
}

#[tokio::test]
async fn blackhole_hangs_keeps_sockets_and_heals() {
    let p = proxy().await;
    let mut s = TcpStream::connect(p.addr()).await.expect("connect");
    assert!(round_trip(&mut s, b"before", WAIT).await.is_ok());

    p.blackhole();
    // The read times out: nothing comes back, and the socket is not closed.
    assert!(round_trip(&mut s, b"during", Duration::from_millis(500)).await.is_err());
    // New connections are still accepted, and hang the same way.
    let mut fresh = TcpStream::connect(p.addr()).await.expect("connect while blackholed");
    assert!(round_trip(&mut fresh, b"fresh", Duration::from_millis(500)).await.is_err());

    p.heal();
    // What was held back arrives after the heal, as after a short partition.
    let mut buf = [0u8; 6];
    timeout(WAIT, s.read_exact(&mut buf)).await.expect("held bytes after heal").expect("read");
    assert_eq!(&buf, b"during");
    assert_eq!(round_trip(&mut s, b"after", WAIT).await, Ok(b"after".to_vec()));
    let mut buf = [0u8; 5];
    timeout(WAIT, fresh.read_exact(&mut buf)).await.expect("fresh after heal").expect("read");
    assert_eq!(&buf, b"fresh");
}

#[tokio::test]
async fn reset_closes_old_and_new_connections_and_heals() {
    let p = proxy().await;
    let mut s = TcpStream::connect(p.addr()).await.expect("connect");
    assert!(round_trip(&mut s, b"before", WAIT).await.is_ok());

    let cut = Instant::now();
    p.reset();
    // The open connection is reset at once, not left to time out.
    assert_reset(&mut s, "open connection").await;
    assert!(cut.elapsed() < Duration::from_millis(500), "reset took {:?}", cut.elapsed());

    // New connections are accepted by the kernel and reset straight away.
    let mut fresh = TcpStream::connect(p.addr()).await.expect("tcp connect while reset");
    assert_reset(&mut fresh, "new connection").await;

    p.heal();
    let mut again = TcpStream::connect(p.addr()).await.expect("connect after heal");
    assert_eq!(round_trip(&mut again, b"after", WAIT).await, Ok(b"after".to_vec()));
}

#[tokio::test]
async fn latency_delays_each_direction() {
    let p = proxy().await;
    let mut s = TcpStream::connect(p.addr()).await.expect("connect");
    let t = Instant::now();
    assert!(round_trip(&mut s, b"warm", WAIT).await.is_ok());
    let base = t.elapsed();

    let d = Duration::from_millis(150);
    p.latency(d);
    let t = Instant::now();
    assert!(round_trip(&mut s, b"slow", WAIT).await.is_ok());
    let slow = t.elapsed();
    // Client→server and server→client are each delayed by d.
    assert!(slow >= 2 * d, "round trip {slow:?} with latency {d:?} (base {base:?})");
    assert!(slow < 2 * d + Duration::from_millis(300), "round trip {slow:?} far above 2 × {d:?}");

    p.heal();
    let t = Instant::now();
    assert!(round_trip(&mut s, b"fast", WAIT).await.is_ok());
    assert!(t.elapsed() < d, "still slow after heal: {:?}", t.elapsed());
}

#[tokio::test]
async fn upstream_down_resets_the_client() {
    // A port with nothing behind it: bind, note it, close.
    let dead = TcpListener::bind("127.0.0.1:0").await.expect("bind").local_addr().expect("addr");
    let p = Proxy::start("127.0.0.1:0".parse().expect("addr"), dead).await.expect("start proxy");
    let mut s = TcpStream::connect(p.addr()).await.expect("connect");
    assert_reset(&mut s, "client of a dead upstream").await;
}

#[tokio::test]
async fn refuses_non_loopback_addresses() {
    let r = Proxy::start("0.0.0.0:0".parse().expect("addr"), "127.0.0.1:9".parse().expect("addr")).await;
    assert!(r.is_err());
}

#[tokio::test]
async fn stop_closes_the_listener() {
    let p = proxy().await;
    let addr = p.addr();
    p.stop();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(TcpStream::connect(addr).await.is_err());
}
