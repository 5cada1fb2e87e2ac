//! MQTT packets over any byte stream: encoded and written whole, read and
//! decoded strictly (a malformed packet is an error naming its rule).

use std::io;

use bytes::BytesMut;
use protocol::{DecodeError, Decoder, Packet, Version};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Why no packet came.
#[derive(Debug)]
pub enum RecvError {
    /// The stream ended or failed.
    Io(io::Error),
    /// The other side sent bytes that are not a valid packet.
    Malformed(DecodeError),
}

impl From<io::Error> for RecvError {
    fn from(e: io::Error) -> RecvError {
        RecvError::Io(e)
    }
}

impl std::fmt::Display for RecvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecvError::Io(e) => e.fmt(f),
            RecvError::Malformed(e) => write!(f, "malformed packet: {e}"),
        }
    }
}

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
        match self.recv_sized().await {
            Ok((p, _)) => Ok(p),
            Err(RecvError::Io(e)) => Err(e),
            Err(RecvError::Malformed(e)) => Err(io::Error::other(e.to_string())),
        }
    }

    /// The next packet and its size on the wire. Cancel-safe: bytes read
    /// stay buffered for the next call.
    pub async fn recv_sized(&mut self) -> Result<(Packet, usize), RecvError> {
        let decoder = Decoder::new(self.version);
        loop {
            let before = self.buf.len();
            if let Some(p) = decoder
                .decode(&mut self.buf)
                .map_err(RecvError::Malformed)?
            {
                return Ok((p, before - self.buf.len()));
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(RecvError::Io(io::ErrorKind::UnexpectedEof.into()));
            }
        }
    }

    /// Closes the writing side (FIN; TLS close_notify first).
    pub async fn shutdown(&mut self) -> io::Result<()> {
        self.stream.shutdown().await
    }
}
