//! `rediss://` with the `tls` feature: a test-made CA and server certificate (openssl), a
//! `redis-server` listening with TLS on a free loopback port.

use huey_core::storage::prelude::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use huey_redis::{RedisOptions, RedisStorage};

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl must be installed (.ci/run installs it)");
    assert!(status.success(), "openssl {args:?}");
}

struct TlsServer(Child, std::path::PathBuf);

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

#[tokio::test]
async fn test_rediss_url_with_a_private_ca() {
    let dir = std::env::temp_dir().join(format!("huey-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=huey-test-ca",
        ],
    );
    openssl(
        &dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("redis-server")
        .current_dir(&dir)
        .args([
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .args([
            "--tls-cert-file",
            "server.crt",
            "--tls-key-file",
            "server.key",
        ])
        .args([
            "--tls-ca-cert-file",
            "ca.crt",
            "--tls-auth-clients",
            "no",
            "--save",
            "",
            "--dir",
        ])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server");
    let _server = TlsServer(child, dir.clone());

    let ca = std::fs::read(dir.join("ca.crt")).unwrap();
    let url = format!("rediss://localhost:{port}/0");
    // The server needs a moment to listen; retry the connection until it does.
    let deadline = Instant::now() + Duration::from_secs(10);
    let storage = loop {
        match RedisStorage::connect_with(
            "tls",
            &url,
            RedisOptions::default().tls_root_certificate(ca.clone()),
        )
        .await
        {
            Ok(storage) => break storage,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("could not connect over TLS: {e}"),
        }
    };
    storage.put_data("k", b"over tls".to_vec()).await.unwrap();
    assert_eq!(
        storage.peek_data("k").await.unwrap(),
        Some(b"over tls".to_vec())
    );

    // Without the private CA, the server's certificate is not trusted.
    assert!(RedisStorage::connect("tls", &url).await.is_err());
}
