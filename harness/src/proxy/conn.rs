//! One proxied connection: two pipes (client→broker, broker→client) that
//! obey the proxy's mode, and a watcher that resets both sockets on demand.

use std::future::pending;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::Mode;

const CHUNK: usize = 16 * 1024;
/// Chunks in flight per direction: room for latency without unbounded memory.
const IN_FLIGHT: usize = 64;

pub(super) async fn serve(mut client: TcpStream, upstream: SocketAddr, mode: watch::Receiver<Mode>) {
    // Blackholed: the client's connect succeeded and it waits here, as it
    // would behind a partition. Reset: it is reset at once.
    let mut gate = mode.clone();
    let upstream = tokio::select! {
        r = async { open(&mut gate).await?; TcpStream::connect(upstream).await } => r,
        _ = until_reset(mode.clone()) => return abort(client),
    };
    // Broker down: the client sees a reset, as it would see a refusal.
    let Ok(mut upstream) = upstream else {
        return abort(client);
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let reset = {
        let (cr, cw) = client.split();
        let (ur, uw) = upstream.split();
        tokio::select! {
            _ = async { tokio::try_join!(pipe(cr, uw, mode.clone()), pipe(ur, cw, mode.clone())) } => false,
            _ = until_reset(mode.clone()) => true,
        }
    };
    if reset {
        abort(client);
        abort(upstream);
    }
}

/// Closes with RST (SO_LINGER 0) instead of FIN, like a host that has
/// forgotten the connection.
fn abort(stream: TcpStream) {
    let _ = stream.set_zero_linger();
}

/// Resolves once the proxy is switched to reset.
async fn until_reset(mut mode: watch::Receiver<Mode>) {
    loop {
        if *mode.borrow_and_update() == Mode::Reset {
            return;
        }
        if mode.changed().await.is_err() {
            pending::<()>().await;
        }
    }
}

/// Waits until the proxy forwards and returns the latency to add. Blackhole
/// and reset both hold traffic here; `serve` tears reset connections down.
async fn open(mode: &mut watch::Receiver<Mode>) -> io::Result<Duration> {
    loop {
        if let Mode::Pass { latency } = *mode.borrow_and_update() {
            return Ok(latency);
        }
        mode.changed().await.map_err(|_| io::Error::other("proxy stopped"))?;
    }
}

/// One direction. The reader stamps each chunk with the time it arrived and
/// the writer sends it `latency` after that, so latency delays data without
/// throttling it; a half-close (EOF) is passed on once the queue is empty.
async fn pipe<R, W>(mut src: R, mut dst: W, mode: watch::Receiver<Mode>) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(IN_FLIGHT);
    let mut read_mode = mode.clone();
    let read = async move {
        let mut buf = vec![0u8; CHUNK];
        loop {
            // While blackholed, leave the bytes unread in the kernel.
            open(&mut read_mode).await?;
            let n = tokio::select! {
                r = src.read(&mut buf) => r?,
                changed = read_mode.changed() => {
                    changed.map_err(|_| io::Error::other("proxy stopped"))?;
                    continue;
                }
            };
            if n == 0 || tx.send((Instant::now(), buf[..n].to_vec())).await.is_err() {
                return Ok::<(), io::Error>(());
            }
        }
    };
    let mut write_mode = mode;
    let write = async move {
        while let Some((arrived, chunk)) = rx.recv().await {
            loop {
                let latency = open(&mut write_mode).await?;
                tokio::select! {
                    _ = tokio::time::sleep_until(arrived + latency) => break,
                    changed = write_mode.changed() => changed.map_err(|_| io::Error::other("proxy stopped"))?,
                }
            }
            dst.write_all(&chunk).await?;
        }
        dst.shutdown().await
    };
    tokio::try_join!(read, write).map(|_| ())
}
