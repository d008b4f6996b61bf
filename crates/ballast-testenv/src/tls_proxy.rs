//! A TLS front for a plain loopback server: accepts TLS on 127.0.0.1 with the [`Pki`] server
//! certificate (and, when `mutual`, requires a client certificate signed by its CA), and relays
//! the plaintext both ways to the upstream address. Blocking rustls, two threads per
//! connection; stops accepting on drop.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::charts::Pki;

/// A running TLS front.
pub struct TlsProxy {
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    stop: Arc<AtomicBool>,
    addr: SocketAddr,
}

impl TlsProxy {
    /// Fronts `upstream` (a plain server on loopback).
    pub fn start(upstream: SocketAddr, pki: &Pki, mutual: bool) -> TlsProxy {
        let config = crate::charts::server_tls_config(pki, mutual);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        std::thread::spawn(move || {
            for tcp in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(tcp) = tcp else { continue };
                let config = config.clone();
                std::thread::spawn(move || relay(config, tcp, upstream));
            }
        });
        TlsProxy {
            url: format!("https://{addr}"),
            stop,
            addr,
        }
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn flush_tls(conn: &mut rustls::ServerConnection, out: &mut TcpStream) -> bool {
    while conn.wants_write() {
        if conn.write_tls(out).is_err() {
            return false;
        }
    }
    true
}

fn relay(config: Arc<rustls::ServerConfig>, client: TcpStream, upstream: SocketAddr) {
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let conn = Arc::new(Mutex::new(conn));
    let (Ok(up), Ok(mut client_out), Ok(mut client_out2)) =
        (TcpStream::connect(upstream), client.try_clone(), client.try_clone())
    else {
        return;
    };
    let (Ok(mut up_in), mut up_out) = (up.try_clone(), up) else {
        return;
    };
    // Upstream to client.
    let back = conn.clone();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 16 << 10];
        loop {
            let n = match up_in.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let mut c = back.lock().unwrap_or_else(|p| p.into_inner());
            if c.writer().write_all(&buf[..n]).is_err() || !flush_tls(&mut c, &mut client_out) {
                return;
            }
        }
        let mut c = back.lock().unwrap_or_else(|p| p.into_inner());
        c.send_close_notify();
        flush_tls(&mut c, &mut client_out);
        let _ = client_out.shutdown(Shutdown::Both);
    });
    // Client to upstream (the handshake too).
    let mut client_in = client;
    let mut raw = vec![0u8; 16 << 10];
    let mut plain = vec![0u8; 16 << 10];
    'read: loop {
        let n = match client_in.read(&mut raw) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut data = &raw[..n];
        while !data.is_empty() {
            if c.read_tls(&mut data).is_err() || c.process_new_packets().is_err() {
                flush_tls(&mut c, &mut client_out2);
                break 'read;
            }
            loop {
                match c.reader().read(&mut plain) {
                    Ok(0) => break,
                    Ok(m) => {
                        if up_out.write_all(&plain[..m]).is_err() {
                            break 'read;
                        }
                    }
                    Err(_) => break,
                }
            }
        }
        if !flush_tls(&mut c, &mut client_out2) {
            break;
        }
    }
    let _ = up_out.shutdown(Shutdown::Write);
}
