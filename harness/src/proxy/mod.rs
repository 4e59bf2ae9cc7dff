//! faultline's own TCP proxy: one loopback listener in front of one broker's
//! client listener. Brokers advertise the proxy's address, so every client
//! byte passes through here and a network fault is a switch on the proxy:
//! no Toxiproxy, no iptables, nothing outside the harness process.

mod conn;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// What the proxy does with the traffic of every connection, old and new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward, each chunk held back by `latency` in each direction.
    Pass { latency: Duration },
    /// Accept, forward nothing, keep every socket open: a partition. Bytes
    /// wait in the kernel's buffers, as TCP retransmits would deliver them
    /// after a short real partition heals.
    Blackhole,
    /// Reset every connection, and every new one as soon as it is accepted.
    Reset,
}

impl Mode {
    pub const NORMAL: Mode = Mode::Pass { latency: Duration::ZERO };
}

/// A running proxy. Dropping it (or [`Proxy::stop`]) closes the listener
/// and every connection.
pub struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    mode: watch::Sender<Mode>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Listens on `listen` (port 0: the kernel picks one) and forwards each
    /// accepted connection to `upstream`, connecting anew per connection.
    /// Both ends must be loopback addresses: the proxy never leaves the host.
    pub async fn start(listen: SocketAddr, upstream: SocketAddr) -> io::Result<Proxy> {
        if !listen.ip().is_loopback() || !upstream.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the proxy only runs on loopback, not {listen} -> {upstream}"),
            ));
        }
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let (mode, rx) = watch::channel(Mode::NORMAL);
        let accept = tokio::spawn(accept_loop(listener, upstream, rx));
        Ok(Proxy { addr, upstream, mode, accept })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    pub fn mode(&self) -> Mode {
        *self.mode.borrow()
    }

    pub fn set_mode(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    pub fn blackhole(&self) {
        self.set_mode(Mode::Blackhole);
    }

    pub fn reset(&self) {
        self.set_mode(Mode::Reset);
    }

    pub fn latency(&self, latency: Duration) {
        self.set_mode(Mode::Pass { latency });
    }

    pub fn heal(&self) {
        self.set_mode(Mode::NORMAL);
    }

    /// Closes the listener and every connection (gracefully: this is the
    /// end of the run, not a fault).
    pub fn stop(&self) {
        self.accept.abort();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Owns the connections: aborting this task drops the set, which aborts them.
async fn accept_loop(listener: TcpListener, upstream: SocketAddr, mode: watch::Receiver<Mode>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    conns.spawn(conn::serve(client, upstream, mode.clone()));
                }
                // Out of descriptors and the like: back off, keep listening.
                Err(e) => {
                    tracing::warn!("proxy for {upstream}: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}
