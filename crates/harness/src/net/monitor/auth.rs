//! Enhanced authentication on the wire (5.0 §4.12): once a CONNECT names an
//! Authentication Method, every AUTH and a successful CONNACK from the
//! broker must carry that same method (MQTT-4.12.0-5).

use protocol::Packet;

use super::{Found, Monitor};

impl Monitor {
    /// The method the client's CONNECT named, if any, against the one in
    /// `p` (an AUTH, or a CONNACK that accepts).
    pub(super) fn check_auth_method(&mut self, p: &Packet, found: &mut Found<'_>) {
        let Some(sent) = self.conn.auth_method.clone() else {
            return;
        };
        let got = match p {
            Packet::Auth(a) => a.properties.authentication_method.as_deref(),
            Packet::ConnAck(a) if a.reason.0 == 0 => a.properties.authentication_method.as_deref(),
            _ => return,
        };
        self.checked.insert("MQTT-4.12.0-5");
        if got != Some(sent.as_str()) {
            found.must(
                "MQTT-4.12.0-5",
                format!(
                    "Authentication Method {} where the CONNECT named {sent:?}",
                    got.map_or("absent".to_owned(), |m| format!("{m:?}"))
                ),
            );
        }
    }
}
