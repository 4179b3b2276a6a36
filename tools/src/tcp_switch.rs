//! A switch on a TCP connection to a dependency that speaks no protocol we
//! stand in for (the DynamoDB emulator): a loopback forwarder that passes
//! bytes through, refuses (closing new and open connections — "unreachable"),
//! or holds every new byte (a call that never answers). The drills flip it
//! to show what the functions do while DynamoDB is gone.

use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the forwarder does right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    Up,
    /// New connections are closed at once; open ones are cut.
    Refused,
    /// Connections are accepted and read, never answered; open ones are cut.
    Hung,
}

/// The forwarder; cloning shares it.
#[derive(Clone)]
pub struct TcpSwitch {
    state: Arc<watch::Sender<Link>>,
    address: SocketAddr,
}

impl TcpSwitch {
    /// Forwards a new loopback port to `target`.
    pub async fn start(target: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (state, _) = watch::channel(Link::Up);
        let state = Arc::new(state);
        let accepting = state.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let link = accepting.subscribe();
                tokio::spawn(serve(inbound, target, link));
            }
        });
        Ok(Self { state, address })
    }

    /// `http://127.0.0.1:<port>`: the endpoint to hand the client.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn set(&self, link: Link) {
        self.state.send_replace(link);
    }
}

async fn serve(mut inbound: TcpStream, target: SocketAddr, mut link: watch::Receiver<Link>) {
    let current = *link.borrow_and_update();
    match current {
        Link::Refused => {}
        Link::Hung => {
            // Read and drop whatever comes, until the link changes.
            let mut sink = [0u8; 4096];
            tokio::select! {
                _ = async { while matches!(inbound.read(&mut sink).await, Ok(n) if n > 0) {} } => {}
                _ = link.changed() => {}
            }
        }
        Link::Up => {
            let Ok(mut outbound) = TcpStream::connect(target).await else {
                return;
            };
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                _ = link.wait_for(|l| *l != Link::Up) => {}
            }
        }
    }
}
