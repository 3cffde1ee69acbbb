//! Closed-loop load: workers send a request, wait for its answer, send the
//! next, for a fixed window after a warm-up. The hot endpoints are driven
//! by a minimal HTTP/1.1 client over keep-alive connections, each sending
//! one request written out once, so that the load generator costs little
//! of the CPU it shares with the server (as wrk would, which a fresh
//! machine lacks).

use super::BenchError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A warm-up, then a measured window; workers count what they finish in it.
pub struct Window {
    start: Instant,
    end: Instant,
    done: AtomicU64,
}

impl Window {
    pub fn new(warm_up: Duration, measured: Duration) -> Arc<Self> {
        let start = Instant::now() + warm_up;
        Arc::new(Self {
            start,
            end: start + measured,
            done: AtomicU64::new(0),
        })
    }

    /// Records one finished operation; `false` once the window has closed.
    pub fn record(&self) -> bool {
        let now = Instant::now();
        if now >= self.end {
            return false;
        }
        if now >= self.start {
            self.done.fetch_add(1, Ordering::Relaxed);
        }
        true
    }

    /// Waits for the window to close, sampling `cpu` (a process's CPU time)
    /// at both ends; the operations per second and the CPU time per second.
    pub async fn close(&self, cpu: impl Fn() -> Option<Duration>) -> Rate {
        tokio::time::sleep_until(self.start.into()).await;
        let cpu_start = cpu();
        tokio::time::sleep_until(self.end.into()).await;
        let seconds = (self.end - self.start).as_secs_f64();
        Rate {
            per_sec: self.done.load(Ordering::Relaxed) as f64 / seconds,
            cpu_share: cpu_start
                .zip(cpu())
                .map(|(start, end)| end.saturating_sub(start).as_secs_f64() / seconds),
        }
    }
}

/// What a measured window gave.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub per_sec: f64,
    /// The server's CPU time per wall-clock second (1.0 = one core busy).
    pub cpu_share: Option<f64>,
}

/// A `GET` request, keep-alive.
pub fn get(host: SocketAddr, path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").into_bytes()
}

/// A `POST` request with a body of `content_type` and extra header lines
/// (`Name: value`), keep-alive.
pub fn post(
    host: SocketAddr,
    path: &str,
    content_type: &str,
    headers: &[String],
    body: &str,
) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request.push_str(body);
    request.into_bytes()
}

/// Sends `request` over `connections` keep-alive connections for the
/// window; every answer must be a 2xx.
pub async fn hammer(
    address: SocketAddr,
    request: Vec<u8>,
    connections: usize,
    window: Arc<Window>,
) -> Result<(), BenchError> {
    let request: Arc<[u8]> = request.into();
    let workers: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(connection(address, request.clone(), window.clone())))
        .collect();
    for worker in workers {
        worker.await??;
    }
    Ok(())
}

async fn connection(
    address: SocketAddr,
    request: Arc<[u8]>,
    window: Arc<Window>,
) -> Result<(), BenchError> {
    let mut stream = TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let mut buffer = Vec::with_capacity(16 * 1024);
    loop {
        stream.write_all(&request).await?;
        let status = read_response(&mut stream, &mut buffer).await?;
        if !(200..300).contains(&status) {
            let text = String::from_utf8_lossy(&buffer);
            return Err(format!("HTTP {status} under load: {text}").into());
        }
        if !window.record() {
            return Ok(());
        }
    }
}

/// Reads one response (headers and a `Content-Length` body) into `buffer`;
/// its status.
async fn read_response(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<u16, BenchError> {
    buffer.clear();
    let mut chunk = [0u8; 16 * 1024];
    let (head_end, length) = loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Err("the server closed the connection".into());
        }
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buffer[..end])?;
            let length = head
                .lines()
                .filter_map(|line| line.split_once(':'))
                .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                .map(|(_, value)| value.trim().parse::<usize>())
                .transpose()?
                .ok_or("an answer without Content-Length")?;
            break (end + 4, length);
        }
    };
    while buffer.len() < head_end + length {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Err("the server closed the connection mid-body".into());
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    let status = buffer
        .get(9..12)
        .and_then(|code| std::str::from_utf8(code).ok())
        .and_then(|code| code.parse().ok())
        .ok_or("a malformed status line")?;
    Ok(status)
}
