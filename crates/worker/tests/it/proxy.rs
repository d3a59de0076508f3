//! A TCP proxy in front of the test PostgreSQL server, for outages the worker must survive:
//! the database going away altogether, or one reply lost after the server committed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, watch};

#[derive(Default)]
struct State {
    down: AtomicBool,
    /// Connections accepted and dropped at once while down.
    refused: AtomicUsize,
    /// Replies swallowed and connections cut by [`Proxy::lose_reply_after`].
    lost: AtomicUsize,
    /// The query text whose reply to lose, once.
    lose_after: Mutex<Option<Vec<u8>>>,
}

pub struct Proxy {
    addr: SocketAddr,
    state: Arc<State>,
    /// Bumped to cut every live connection.
    cut: watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start() -> Self {
        let server = test_support::server_options();
        let upstream = format!("{}:{}", server.get_host(), server.get_port());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(State::default());
        let (cut, _) = watch::channel(0_u64);
        let task = tokio::spawn({
            let (state, cut) = (state.clone(), cut.clone());
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    if state.down.load(Ordering::SeqCst) {
                        state.refused.fetch_add(1, Ordering::SeqCst);
                        drop(client);
                        continue;
                    }
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        continue;
                    };
                    tokio::spawn(pump(client, server, state.clone(), cut.subscribe()));
                }
            }
        });
        Self {
            addr,
            state,
            cut,
            task,
        }
    }

    /// A pool to `db` as the runtime role, through this proxy, that gives up on a connection
    /// quickly.
    pub fn app_pool(&self, db: &test_support::TestDatabase) -> PgPool {
        let options: PgConnectOptions = db
            .app_url
            .parse::<PgConnectOptions>()
            .expect("app url")
            .host("127.0.0.1")
            .port(self.addr.port())
            .disable_statement_logging();
        PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_millis(500))
            .connect_lazy_with(options)
    }

    /// The database goes away: live connections are cut and new ones dropped on accept.
    pub fn down(&self) {
        self.state.down.store(true, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    pub fn up(&self) {
        self.state.down.store(false, Ordering::SeqCst);
    }

    /// Connections refused while down.
    pub fn refused(&self) -> usize {
        self.state.refused.load(Ordering::SeqCst)
    }

    /// The next statement whose text contains `query` runs and commits, but its reply never
    /// reaches the client: the proxy swallows it, and the client waits until the test, having
    /// seen the statement's effect on another connection, calls [`Proxy::cut_all`].
    pub async fn lose_reply_after(&self, query: &[u8]) {
        *self.state.lose_after.lock().await = Some(query.to_vec());
    }

    /// Replies lost so far.
    pub fn lost(&self) -> usize {
        self.state.lost.load(Ordering::SeqCst)
    }

    /// Cuts every live connection (a lost reply's included).
    pub fn cut_all(&self) {
        self.cut.send_modify(|n| *n += 1);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut.send_modify(|n| *n += 1);
    }
}

/// Copies both ways until either side closes or a cut comes. sqlx parses a new statement in
/// a round trip of its own (Parse, Describe, Sync) before it executes it (Bind, Execute,
/// Sync), so the client's next write after the one naming the query is its execution: from
/// then on the server's replies are swallowed.
async fn pump(
    mut client: TcpStream,
    mut server: TcpStream,
    state: Arc<State>,
    mut cut: watch::Receiver<u64>,
) {
    let (mut cr, mut cw) = client.split();
    let (mut sr, mut sw) = server.split();
    let swallow = AtomicBool::new(false);
    let mut named = false;
    let upstream = async {
        let mut buf = vec![0_u8; 64 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let chunk = &buf[..n];
            {
                let mut pattern = state.lose_after.lock().await;
                if let Some(p) = pattern.as_ref() {
                    if named {
                        swallow.store(true, Ordering::SeqCst);
                        state.lost.fetch_add(1, Ordering::SeqCst);
                        *pattern = None;
                    } else if chunk.windows(p.len()).any(|w| w == p.as_slice()) {
                        named = true;
                    }
                }
            }
            if sw.write_all(chunk).await.is_err() {
                return;
            }
        }
    };
    let downstream = async {
        let mut buf = vec![0_u8; 64 * 1024];
        loop {
            let n = match sr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if swallow.load(Ordering::SeqCst) {
                continue;
            }
            if cw.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        () = upstream => {},
        () = downstream => {},
        _ = cut.changed() => {},
    }
}
