//! A private `redis-server` for one test: a unix socket in a temporary directory, started and
//! stopped by the test, so tests never touch a user's database.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server`; stopped (and its directory removed) on drop.
pub struct RedisServer {
    dir: PathBuf,
    child: Option<Child>,
    persistent: bool,
    tcp: Option<(u16, String)>,
}

impl RedisServer {
    /// Starts a server that keeps nothing on disk.
    pub fn start() -> RedisServer {
        RedisServer::launch(false)
    }

    /// Starts a server with an append-only file, so a restart keeps the data.
    pub fn start_persistent() -> RedisServer {
        RedisServer::launch(true)
    }

    /// Starts a server that also listens on a free loopback port and requires `password`.
    pub fn start_tcp_with_password(password: &str) -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("find a free port");
        let mut server = RedisServer::prepare(false);
        server.tcp = Some((port, password.to_owned()));
        server.spawn();
        server
    }

    /// The loopback port, for a server started with [`start_tcp_with_password`](Self::start_tcp_with_password).
    pub fn port(&self) -> Option<u16> {
        self.tcp.as_ref().map(|(port, _)| *port)
    }

    fn launch(persistent: bool) -> RedisServer {
        let mut server = RedisServer::prepare(persistent);
        server.spawn();
        server
    }

    fn prepare(persistent: bool) -> RedisServer {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("huey-redis-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the server directory");
        RedisServer {
            dir,
            child: None,
            persistent,
            tcp: None,
        }
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }

    /// The server's URL (`redis+unix://`), database 0.
    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket().display())
    }

    fn spawn(&mut self) {
        let _ = std::fs::remove_file(self.socket());
        let mut cmd = Command::new("redis-server");
        match &self.tcp {
            Some((port, password)) => {
                cmd.args(["--bind", "127.0.0.1", "--port", &port.to_string()]);
                cmd.args(["--requirepass", password]);
            }
            None => {
                cmd.args(["--port", "0"]);
            }
        }
        cmd.arg("--unixsocket")
            .arg(self.socket())
            .arg("--unixsocketperm")
            .arg("700")
            .arg("--dir")
            .arg(&self.dir)
            .arg("--save")
            .arg("");
        if self.persistent {
            cmd.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            cmd.args(["--appendonly", "no"]);
        }
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let child = cmd
            .spawn()
            .expect("redis-server must be installed (.ci/run installs it)");
        self.child = Some(child);
        wait_until_ready(&self.socket());
    }

    /// Stops the server (SIGTERM, as a service manager would) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same socket and data directory.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// The directory holding the socket (and the append-only file).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Polls the socket until the server answers PING (or asks for a password): a server start
/// has no event to await.
fn wait_until_ready(socket: &Path) {
    use std::io::{Read, Write};
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(mut stream) = std::os::unix::net::UnixStream::connect(socket) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
            let mut reply = [0u8; 5];
            if stream.write_all(b"PING\r\n").is_ok()
                && stream.read_exact(&mut reply).is_ok()
                && (&reply == b"+PONG" || &reply == b"-NOAU")
            {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("redis-server did not start on {}", socket.display());
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
