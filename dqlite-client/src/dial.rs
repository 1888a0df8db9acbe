//! Dialling a node: TCP (with keepalive and no Nagle), Unix sockets, and Linux abstract
//! sockets written `@name`, as go-dqlite does.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

/// A connected byte stream to a node.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// Where an address points.
#[derive(Debug, PartialEq, Eq)]
enum Target<'a> {
    Tcp(&'a str),
    UnixPath(&'a str),
    Abstract(&'a str),
}

fn target(addr: &str) -> Target<'_> {
    if let Some(name) = addr.strip_prefix('@') {
        Target::Abstract(name)
    } else if let Some(path) = addr.strip_prefix("unix:") {
        Target::UnixPath(path)
    } else if addr.starts_with('/') {
        Target::UnixPath(addr)
    } else {
        Target::Tcp(addr)
    }
}

/// Connects to `addr` (no timeout here: the caller bounds it). TCP connections get the
/// keepalive idle time and, on Linux, `TCP_USER_TIMEOUT`, so a vanished host is noticed.
pub(crate) async fn dial(
    addr: &str,
    keepalive: Option<Duration>,
    user_timeout: Option<Duration>,
) -> io::Result<Stream> {
    match target(addr) {
        Target::Tcp(a) => {
            let tcp = TcpStream::connect(a).await?;
            tcp.set_nodelay(true)?;
            if let Some(idle) = keepalive {
                let ka = socket2::TcpKeepalive::new()
                    .with_time(idle)
                    .with_interval((idle / 3).max(Duration::from_secs(1)))
                    .with_retries(3);
                socket2::SockRef::from(&tcp).set_tcp_keepalive(&ka)?;
            }
            #[cfg(any(target_os = "linux", target_os = "android"))]
            if user_timeout.is_some() {
                socket2::SockRef::from(&tcp).set_tcp_user_timeout(user_timeout)?;
            }
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            let _ = user_timeout;
            Ok(Stream::Tcp(tcp))
        }
        Target::UnixPath(path) => Ok(Stream::Unix(UnixStream::connect(path).await?)),
        Target::Abstract(name) => dial_abstract(name),
    }
}

#[cfg(target_os = "linux")]
fn dial_abstract(name: &str) -> io::Result<Stream> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    // Connecting a Unix socket completes at once (or fails): no blocking worth offloading.
    let std = std::os::unix::net::UnixStream::connect_addr(&addr)?;
    std.set_nonblocking(true)?;
    Ok(Stream::Unix(UnixStream::from_std(std)?))
}

#[cfg(not(target_os = "linux"))]
fn dial_abstract(name: &str) -> io::Result<Stream> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!("abstract Unix socket @{name} is Linux-only"),
    ))
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_forms() {
        assert_eq!(target("127.0.0.1:9001"), Target::Tcp("127.0.0.1:9001"));
        assert_eq!(target("[::1]:9001"), Target::Tcp("[::1]:9001"));
        assert_eq!(target("@dqlite-1"), Target::Abstract("dqlite-1"));
        assert_eq!(target("unix:/run/d.sock"), Target::UnixPath("/run/d.sock"));
        assert_eq!(target("/run/d.sock"), Target::UnixPath("/run/d.sock"));
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn tcp_connections_get_keepalive_and_a_user_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let secs = Duration::from_secs;
        let stream = dial(&addr, Some(secs(3)), Some(secs(5)))
            .await
            .expect("dial");
        let Stream::Tcp(tcp) = stream else {
            panic!("a TCP address gave a Unix stream")
        };
        let sock = socket2::SockRef::from(&tcp);
        assert!(sock.keepalive().expect("SO_KEEPALIVE"));
        assert_eq!(sock.tcp_keepalive_time().expect("TCP_KEEPIDLE"), secs(3));
        assert_eq!(
            sock.tcp_user_timeout().expect("TCP_USER_TIMEOUT"),
            Some(secs(5))
        );
        assert!(sock.tcp_nodelay().expect("TCP_NODELAY"));

        let plain = dial(&addr, None, None).await.expect("dial");
        let Stream::Tcp(tcp) = plain else {
            panic!("a TCP address gave a Unix stream")
        };
        let sock = socket2::SockRef::from(&tcp);
        assert!(!sock.keepalive().expect("SO_KEEPALIVE"));
        assert_eq!(sock.tcp_user_timeout().expect("TCP_USER_TIMEOUT"), None);
    }
}
