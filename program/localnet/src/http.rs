//! A small HTTP/1.1 server for JSON-RPC: POST a body, get JSON back; `GET /health`; CORS.
//!
//! Hand-rolled on httparse rather than hyper's server: enabling hyper's `server` feature would
//! rebuild every solana crate that depends on hyper, for a protocol this small.

use std::sync::Arc;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
};

use crate::chain::Shared;

const MAX_HEADER_BYTES: usize = 64 * 1024;
const MAX_BODY_BYTES: usize = 50 * 1024 * 1024;

/// Serves JSON-RPC until `stop` turns true.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = shared.clone();
                let stop = stop.clone();
                tokio::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    tokio::select! {
                        _ = connection(stream, shared) => {}
                        _ = stopped(stop) => {}
                    }
                });
            }
            _ = stop.changed() => return,
        }
    }
}

async fn stopped(mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
    close: bool,
}

enum ReadError {
    Closed,
    Bad(u16, &'static str),
}

async fn connection(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    loop {
        let req = match read_request(&mut stream, &mut buf).await {
            Ok(r) => r,
            Err(ReadError::Closed) => return,
            Err(ReadError::Bad(status, why)) => {
                let _ = respond(&mut stream, status, "text/plain", why.as_bytes(), true).await;
                return;
            }
        };
        let (status, ctype, body): (u16, &str, Vec<u8>) =
            match (req.method.as_str(), req.path.as_str()) {
                ("OPTIONS", _) => (204, "text/plain", Vec::new()),
                ("GET", "/health") => (200, "text/plain", b"ok".to_vec()),
                ("POST", _) => {
                    let v = crate::rpc::handle_body(&shared, &req.body).await;
                    (
                        200,
                        "application/json",
                        serde_json::to_vec(&v).unwrap_or_default(),
                    )
                }
                _ => (
                    405,
                    "text/plain",
                    b"Used HTTP Method is not allowed. POST or OPTIONS is required".to_vec(),
                ),
            };
        if respond(&mut stream, status, ctype, &body, req.close)
            .await
            .is_err()
            || req.close
        {
            return;
        }
    }
}

async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Request, ReadError> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(buf) {
            Ok(httparse::Status::Complete(header_len)) => {
                let method = parsed.method.unwrap_or("").to_string();
                let path = parsed.path.unwrap_or("/").to_string();
                let http10 = parsed.version == Some(0);
                let mut content_length: Option<usize> = None;
                let mut chunked = false;
                let mut close = http10;
                let mut expect_continue = false;
                for h in parsed.headers.iter() {
                    let v = String::from_utf8_lossy(h.value).to_ascii_lowercase();
                    match h.name.to_ascii_lowercase().as_str() {
                        "content-length" => {
                            content_length = Some(
                                v.trim()
                                    .parse()
                                    .map_err(|_| ReadError::Bad(400, "bad Content-Length"))?,
                            )
                        }
                        "transfer-encoding" => chunked = v.contains("chunked"),
                        "connection" => {
                            if v.contains("close") {
                                close = true;
                            } else if v.contains("keep-alive") {
                                close = false;
                            }
                        }
                        "expect" => expect_continue = v.contains("100-continue"),
                        _ => {}
                    }
                }
                buf.drain(..header_len);
                if expect_continue {
                    let _ = stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await;
                }
                let body = if chunked {
                    read_chunked(stream, buf).await?
                } else {
                    let n = content_length.unwrap_or(0);
                    if n > MAX_BODY_BYTES {
                        return Err(ReadError::Bad(413, "request body too large"));
                    }
                    fill(stream, buf, n).await?;
                    buf.drain(..n).collect()
                };
                return Ok(Request {
                    method,
                    path,
                    body,
                    close,
                });
            }
            Ok(httparse::Status::Partial) => {
                if buf.len() > MAX_HEADER_BYTES {
                    return Err(ReadError::Bad(431, "request headers too large"));
                }
                read_more(stream, buf).await?;
            }
            Err(_) => return Err(ReadError::Bad(400, "malformed HTTP request")),
        }
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), ReadError> {
    let mut chunk = [0u8; 16 * 1024];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => Err(ReadError::Closed),
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(())
        }
    }
}

async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>, n: usize) -> Result<(), ReadError> {
    while buf.len() < n {
        read_more(stream, buf).await?;
    }
    Ok(())
}

async fn read_chunked(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                break i;
            }
            if buf.len() > MAX_HEADER_BYTES {
                return Err(ReadError::Bad(400, "bad chunk"));
            }
            read_more(stream, buf).await?;
        };
        let line = String::from_utf8_lossy(&buf[..line_end]).to_string();
        let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| ReadError::Bad(400, "bad chunk size"))?;
        buf.drain(..line_end + 2);
        if size == 0 {
            // Trailers end with an empty line.
            loop {
                if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                    let empty = i == 0;
                    buf.drain(..i + 2);
                    if empty {
                        return Ok(body);
                    }
                } else {
                    read_more(stream, buf).await?;
                }
            }
        }
        if body.len() + size > MAX_BODY_BYTES {
            return Err(ReadError::Bad(413, "request body too large"));
        }
        fill(stream, buf, size + 2).await?;
        body.extend_from_slice(&buf[..size]);
        buf.drain(..size + 2);
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
    close: bool,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\n\
         Content-Type: {content_type}\r\n\
         Content-Length: {}\r\n\
         Access-Control-Allow-Origin: *\r\n\
         Access-Control-Allow-Methods: POST, GET, OPTIONS\r\n\
         Access-Control-Allow-Headers: *\r\n\
         Connection: {}\r\n\r\n",
        body.len(),
        if close { "close" } else { "keep-alive" },
    );
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    stream.write_all(&out).await?;
    stream.flush().await
}
