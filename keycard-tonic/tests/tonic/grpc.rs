//! A gRPC service written by hand: `test.Who/Me` answers the caller's `sub`, as UTF-8 text with
//! a codec of its own, so that no `.proto`, `protoc` or `build.rs` is needed. Served by tonic's
//! own server on 127.0.0.1 (port 0), called with tonic's own client.

use std::convert::Infallible;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BufMut};
use http::uri::PathAndQuery;
use keycard::Claims;
use tonic::body::Body;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::server::{NamedService, UnaryService};
use tonic::transport::server::TcpIncoming;
use tonic::transport::Channel;
use tonic::{Code, Status};

/// Messages are UTF-8 text.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Text;

impl Codec for Text {
    type Encode = String;
    type Decode = String;
    type Encoder = Text;
    type Decoder = Text;

    fn encoder(&mut self) -> Text {
        Text
    }

    fn decoder(&mut self) -> Text {
        Text
    }
}

impl Encoder for Text {
    type Item = String;
    type Error = Status;

    fn encode(&mut self, item: String, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(item.as_bytes());
        Ok(())
    }
}

impl Decoder for Text {
    type Item = String;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<String>, Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        String::from_utf8(bytes.to_vec())
            .map(Some)
            .map_err(|_| Status::internal("not UTF-8"))
    }
}

/// The service `test.Who`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Who;

impl NamedService for Who {
    const NAME: &'static str = "test.Who";
}

impl tower::Service<http::Request<Body>> for Who {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        Box::pin(async move {
            if request.uri().path() != "/test.Who/Me" {
                return Ok(Status::unimplemented("no such method").into_http());
            }
            Ok(tonic::server::Grpc::new(Text).unary(Me, request).await)
        })
    }
}

/// `Me`: the verified caller's `sub`, read with `keycard_tonic::verified`.
struct Me;

impl UnaryService<String> for Me {
    type Response = String;
    type Future = Ready<Result<tonic::Response<String>, Status>>;

    fn call(&mut self, request: tonic::Request<String>) -> Self::Future {
        ready(
            keycard_tonic::verified::<Claims, _>(&request)
                .map(|claims| tonic::Response::new(claims.subject.unwrap_or_default())),
        )
    }
}

/// A listener on 127.0.0.1 (port 0) for a tonic server, and the URL to reach it.
pub(crate) async fn bind() -> (TcpIncoming, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (TcpIncoming::from(listener), url)
}

/// A client channel to the server at `url`.
pub(crate) async fn connect(url: &str) -> Channel {
    tonic::transport::Endpoint::from_shared(url.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// What a call answered: the `sub`, or the status with its metadata.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) code: Code,
    pub(crate) message: String,
    pub(crate) challenge: Option<String>,
    pub(crate) retry_after: Option<String>,
}

/// Calls `test.Who/Me` with these `authorization` metadata values.
pub(crate) async fn me(channel: &Channel, authorization: &[&str]) -> Answer {
    let mut client = tonic::client::Grpc::new(channel.clone());
    client.ready().await.unwrap();
    let mut request = tonic::Request::new(String::new());
    for value in authorization {
        request
            .metadata_mut()
            .append("authorization", value.parse().unwrap());
    }
    let path = PathAndQuery::from_static("/test.Who/Me");
    match client.unary::<_, String, _>(request, path, Text).await {
        Ok(response) => Answer {
            code: Code::Ok,
            message: response.into_inner(),
            challenge: None,
            retry_after: None,
        },
        Err(status) => {
            let text = |name: &str| {
                status
                    .metadata()
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_owned())
            };
            Answer {
                code: status.code(),
                message: status.message().to_owned(),
                challenge: text("www-authenticate"),
                retry_after: text("retry-after"),
            }
        }
    }
}
