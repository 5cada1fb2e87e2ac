//! MQTT packets over any byte stream: encoded and written whole, read and
//! decoded strictly (a malformed packet is an error naming its rule).

use std::io;

use bytes::BytesMut;
use protocol::{Decoder, Packet, Version};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub struct Framed<S> {
    stream: S,
    buf: BytesMut,
    version: Version,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Framed<S> {
    pub fn new(stream: S, version: Version) -> Framed<S> {
        Framed {
            stream,
            buf: BytesMut::new(),
            version,
        }
    }

    pub async fn send(&mut self, p: &Packet) -> io::Result<()> {
        let mut out = BytesMut::new();
        protocol::encode(p, self.version, &mut out).map_err(io::Error::other)?;
        self.stream.write_all(&out).await
    }

    /// The next packet; an error when the stream ends or the other side
    /// sends something malformed.
    pub async fn recv(&mut self) -> io::Result<Packet> {
        let decoder = Decoder::new(self.version);
        loop {
            if let Some(p) = decoder
                .decode(&mut self.buf)
                .map_err(|e| io::Error::other(e.to_string()))?
            {
                return Ok(p);
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Closes the writing side (FIN; TLS close_notify first).
    pub async fn shutdown(&mut self) -> io::Result<()> {
        self.stream.shutdown().await
    }
}
