//! 5.0 enhanced authentication (§4.12): one challenge and one response over
//! AUTH packets, when a client connects with the Authentication Method the
//! broker is configured with (`Config::auth_method`) and again whenever it
//! asks to re-authenticate (AUTH 0x19).
//!
//! The exchange is deliberately the simplest that has every part of the
//! protocol: the broker's AUTH 0x18 carries the method, its challenge, a
//! Reason String and a User Property (dropped, in that order, when they
//! would take the packet over the client's Maximum Packet Size,
//! MQTT-3.15.2-2/-3); the client must answer AUTH 0x18 with the same method
//! and the expected data.

use bytes::Bytes;
use protocol::{Auth, Connect, Packet, Properties, ReasonCode, Version};

use super::{Broker, ConnId};

/// Where a connection is in enhanced authentication.
#[derive(Debug)]
pub(super) enum AuthState {
    /// The client's CONNECT had no Authentication Method: an AUTH from it is
    /// a protocol error (MQTT-4.12.0-7), and none goes to it (MQTT-4.12.0-6).
    Off,
    /// Challenged at CONNECT: the CONNECT waits here for the answer, and
    /// nothing but AUTH (or DISCONNECT) is taken meanwhile (MQTT-3.1.2-30).
    Connecting(Box<Connect>),
    /// Authenticated with this method.
    Done(String),
    /// Re-authenticating with this method: challenged, answer awaited.
    Again(String),
}

impl AuthState {
    pub(super) fn is_connecting(&self) -> bool {
        matches!(self, AuthState::Connecting(_))
    }
}

impl Broker {
    /// Whether `conn` has passed the challenge for `method` (the second time
    /// its CONNECT is handled).
    pub(super) fn authenticated(&self, conn: ConnId, method: &str) -> bool {
        self.conns
            .get(&conn)
            .is_some_and(|c| matches!(&c.auth, AuthState::Done(m) if m == method))
    }

    /// Challenges a CONNECT naming the broker's method; it is handled again
    /// once the client answers.
    pub(super) fn challenge_connect(&mut self, conn: ConnId, connect: Connect) {
        let max = connect.properties.maximum_packet_size.unwrap_or(u32::MAX);
        let method = connect
            .properties
            .authentication_method
            .clone()
            .unwrap_or_default();
        let Some(auth) = self.challenge(&method, max) else {
            return self.refuse_connect(conn, Version::V5, ReasonCode::PACKET_TOO_LARGE);
        };
        if let Some(c) = self.conns.get_mut(&conn) {
            c.auth = AuthState::Connecting(Box::new(connect));
        }
        self.send(conn, &Packet::Auth(auth));
    }

    /// A packet while the CONNECT awaits the answer to its challenge.
    pub(super) fn on_auth_connecting(&mut self, conn: ConnId, packet: Packet) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let AuthState::Connecting(connect) = std::mem::replace(&mut c.auth, AuthState::Off) else {
            return;
        };
        let method = connect
            .properties
            .authentication_method
            .clone()
            .unwrap_or_default();
        let a = match packet {
            Packet::Auth(a) => a,
            Packet::Disconnect(_) => {
                self.actions.push_back(super::Action::Close { conn });
                self.conns.remove(&conn);
                return;
            }
            // MQTT-3.1.2-30: only AUTH or DISCONNECT before the CONNACK.
            _ => return self.refuse_connect(conn, Version::V5, ReasonCode::PROTOCOL_ERROR),
        };
        // MQTT-4.12.0-3 and -5: the answer continues, with the same method.
        let continues = a.reason == ReasonCode::CONTINUE_AUTHENTICATION
            && a.properties.authentication_method.as_deref() == Some(method.as_str());
        if !continues {
            return self.refuse_connect(conn, Version::V5, ReasonCode::PROTOCOL_ERROR);
        }
        if !self.answers(&a) {
            // MQTT-4.12.0-4: refused, and closed.
            return self.refuse_connect(conn, Version::V5, ReasonCode::NOT_AUTHORIZED);
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.auth = AuthState::Done(method);
        }
        self.on_connect(conn, *connect);
    }

    /// AUTH on a connected connection: a re-authentication starting (0x19)
    /// or answered (0x18); anything else is a protocol error.
    pub(super) fn on_auth(&mut self, conn: ConnId, a: Auth) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let max = c.client_max_packet;
        let same = |m: &String| a.properties.authentication_method.as_ref() == Some(m);
        match &c.auth {
            // MQTT-4.12.0-7: no Authentication Method in CONNECT, so no AUTH.
            AuthState::Off | AuthState::Connecting(_) => self.protocol_error(
                conn,
                ReasonCode::PROTOCOL_ERROR,
                "AUTH without an authentication method",
            ),
            // MQTT-4.12.1-1: re-authentication keeps the method.
            AuthState::Done(m) if a.reason == ReasonCode::RE_AUTHENTICATE && same(m) => {
                let method = m.clone();
                match self.challenge(&method, max) {
                    Some(challenge) => {
                        if let Some(c) = self.conns.get_mut(&conn) {
                            c.auth = AuthState::Again(method);
                        }
                        self.send(conn, &Packet::Auth(challenge));
                    }
                    None => self.protocol_error(
                        conn,
                        ReasonCode::PACKET_TOO_LARGE,
                        "the challenge does not fit the client's Maximum Packet Size",
                    ),
                }
            }
            AuthState::Again(m) if a.reason == ReasonCode::CONTINUE_AUTHENTICATION && same(m) => {
                let method = m.clone();
                if !self.answers(&a) {
                    // MQTT-4.12.1-2: DISCONNECT with a reason, then close.
                    return self.protocol_error(
                        conn,
                        ReasonCode::NOT_AUTHORIZED,
                        "re-authentication failed",
                    );
                }
                let mut properties = Properties::default();
                properties.authentication_method = Some(method.clone());
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.auth = AuthState::Done(method);
                }
                self.send(
                    conn,
                    &Packet::Auth(Auth {
                        reason: ReasonCode::SUCCESS,
                        properties,
                    }),
                );
            }
            _ => self.protocol_error(
                conn,
                ReasonCode::PROTOCOL_ERROR,
                "AUTH out of place in the authentication exchange",
            ),
        }
    }

    fn answers(&self, a: &Auth) -> bool {
        a.properties.authentication_data.as_deref() == Some(self.config.auth_response.as_bytes())
    }

    /// The broker's challenge for `method`, at most `max` bytes long: the
    /// Reason String and then the User Property go first if it is too long
    /// (MQTT-3.15.2-2, MQTT-3.15.2-3); `None` if even the bare one is.
    fn challenge(&self, method: &str, max: u32) -> Option<Auth> {
        let mut properties = Properties::default();
        properties.authentication_method = Some(method.to_owned());
        properties.authentication_data = Some(Bytes::from(self.config.auth_challenge.clone()));
        properties.user_properties = vec![("step".into(), "challenge".into())];
        properties.reason_string = Some(format!("answer the {method} challenge"));
        let mut auth = Auth {
            reason: ReasonCode::CONTINUE_AUTHENTICATION,
            properties,
        };
        let fits = |a: &Auth| {
            protocol::encode_to_vec(&Packet::Auth(a.clone()), Version::V5)
                .is_ok_and(|b| b.len() <= max as usize)
        };
        if !fits(&auth) {
            auth.properties.reason_string = None;
        }
        if !fits(&auth) {
            auth.properties.user_properties.clear();
        }
        fits(&auth).then_some(auth)
    }
}
