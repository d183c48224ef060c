//! The API's HTTP/1.1 listener (HTTPS with a configured certificate): bounded connections,
//! headers and bodies, every request SigV4-verified before anything else reads it.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use super::error::ApiError;
use super::{ids, ops, sigv4, Api};

/// A request body at most (a full 1,000-change batch is far smaller).
pub const MAX_BODY: usize = 4 << 20;
/// A client has this long to send its headers, and its body.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// An idle keep-alive connection is closed after this long.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(300);

/// Accepts connections until the task is aborted.
pub async fn serve(
    listener: TcpListener,
    api: Arc<Api>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    max_connections: usize,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("API accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Full: close at once rather than queue (the client sees a reset and retries).
            tracing::debug!(%peer, "API connection refused: {max_connections} open");
            drop(stream);
            continue;
        };
        let api = api.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                None => connection(TokioIo::new(stream), api, peer).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(s)) => connection(TokioIo::new(s), api, peer).await,
                        _ => tracing::debug!(%peer, "API TLS handshake failed"),
                    }
                }
            }
        });
    }
}

async fn connection<I>(io: I, api: Arc<Api>, peer: SocketAddr)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let api = api.clone();
        async move { Ok::<_, Infallible>(handle(&api, req, peer).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(64 * 1024)
        .serve_connection(io, service);
    let _ = tokio::time::timeout(CONNECTION_LIFETIME, conn).await;
}

async fn handle(api: &Api, req: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
    let request_id = ids::request_id();
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query_text = req.uri().query().unwrap_or("").to_string();
    let headers: Vec<(String, Vec<u8>)> = req
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
        .collect();
    let body = match tokio::time::timeout(
        BODY_TIMEOUT,
        Limited::new(req.into_body(), MAX_BODY).collect(),
    )
    .await
    {
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(_)) => {
            return respond(
                &request_id,
                Err(ApiError::new(
                    413,
                    "InvalidInput",
                    format!("the request body is larger than {MAX_BODY} bytes"),
                )),
            )
        }
        Err(_) => {
            return respond(
                &request_id,
                Err(ApiError::new(
                    408,
                    "RequestTimeout",
                    "the request body was not sent in time",
                )),
            )
        }
    };
    let keys = api.keys();
    let verified = sigv4::verify(
        &sigv4::Request {
            method: &method,
            path: &path,
            query: &query_text,
            headers: &headers,
            body: &body,
        },
        &keys,
        &sigv4::ROUTE53,
        ids::now(),
    );
    let result = match verified {
        Err(e) => {
            // The access key id may be logged; the secret and the signature never are.
            tracing::warn!(%peer, %method, %path, code = e.code(), "API request refused: {e}");
            Err(ApiError::new(403, e.code(), e.to_string()))
        }
        Ok(caller) => {
            let query: BTreeMap<String, String> = query_text
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (sigv4::decode(k), sigv4::decode(v))
                })
                .collect();
            let r = ops::route(api, &method, &path, &query, &body).await;
            match &r {
                Ok(reply) => {
                    tracing::info!(%peer, key = %caller.access_key_id, %method, %path, status = reply.status, "API")
                }
                Err(e) => {
                    tracing::info!(%peer, key = %caller.access_key_id, %method, %path, status = e.status, code = e.code, "API: {}", e.message)
                }
            }
            r
        }
    };
    respond(&request_id, result)
}

fn respond(request_id: &str, result: Result<ops::Reply, ApiError>) -> Response<Full<Bytes>> {
    let (status, body, location) = match result {
        Ok(r) => (r.status, r.body, r.location),
        Err(e) => (e.status, e.xml(request_id), None),
    };
    let mut b = Response::builder()
        .status(status)
        .header("content-type", "text/xml")
        .header("x-amzn-requestid", request_id);
    if let Some(l) = location {
        b = b.header("location", l);
    }
    b.body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}
