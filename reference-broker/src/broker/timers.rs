//! Time: the CONNECT deadline and keep alive of connections, delayed wills
//! and session expiry of disconnected sessions, and when the driver must
//! next call `handle_timeout`.

use protocol::ReasonCode;

use super::{Action, Broker, ConnId, ConnState, Millis, Session, CONNECT_TIMEOUT};

impl Broker {
    /// Time passed: keep alive, connect timeouts, delayed wills, session
    /// expiry.
    pub fn handle_timeout(&mut self, now: Millis) {
        self.now = now;
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            self.enforce_deadline(id);
        }
        let due_wills: Vec<String> = self
            .sessions
            .values()
            .filter(|s| {
                s.conn.is_none()
                    && s.will
                        .as_ref()
                        .and_then(|w| w.publish_at)
                        .is_some_and(|t| t <= now)
            })
            .map(|s| s.client_id.clone())
            .collect();
        for id in due_wills {
            if let Some(w) = self.sessions.get_mut(&id).and_then(|s| s.will.take()) {
                self.touch(&id);
                self.publish_will(w.message);
            }
        }
        let expired: Vec<String> = self
            .sessions
            .values()
            .filter(|s| s.expires_at().is_some_and(|t| t <= now))
            .map(|s| s.client_id.clone())
            .collect();
        for id in expired {
            tracing::debug!(client_id = %id, "session expired");
            self.end_session(&id);
        }
    }

    /// Closes a connection whose CONNECT or keep alive deadline has passed;
    /// true if it did.
    pub(super) fn enforce_deadline(&mut self, id: ConnId) -> bool {
        let now = self.now;
        let Some(c) = self.conns.get(&id) else {
            return false;
        };
        match (&c.state, c.keep_alive_limit) {
            (ConnState::AwaitingConnect, _) if now >= c.opened_at + CONNECT_TIMEOUT => {
                tracing::debug!(?id, "no CONNECT in time");
                self.actions.push_back(Action::Close { conn: id });
                self.conns.remove(&id);
                true
            }
            (ConnState::Connected { .. }, Some(limit)) if now >= c.last_packet_at + limit => {
                tracing::debug!(?id, "keep alive expired");
                self.protocol_error(id, ReasonCode::KEEP_ALIVE_TIMEOUT, "keep alive timeout");
                true
            }
            _ => false,
        }
    }

    /// When `handle_timeout` must next be called.
    pub fn poll_timeout(&self) -> Option<Millis> {
        let conns = self.conns.values().filter_map(|c| match c.state {
            ConnState::AwaitingConnect => Some(c.opened_at + CONNECT_TIMEOUT),
            ConnState::Connected { .. } => c.keep_alive_limit.map(|l| c.last_packet_at + l),
        });
        let sessions = self.sessions.values().flat_map(|s| {
            let will = s.will.as_ref().and_then(|w| w.publish_at);
            [will, s.expires_at()].into_iter().flatten()
        });
        conns.chain(sessions).min()
    }

    /// Applies a disconnected session's deadlines that have passed.
    pub(super) fn settle_session(&mut self, client_id: &str) {
        let now = self.now;
        let Some(s) = self.sessions.get_mut(client_id) else {
            return;
        };
        if s.conn.is_some() {
            return;
        }
        let due = s.will.as_ref().and_then(|w| w.publish_at);
        if due.is_some_and(|t| t <= now) {
            if let Some(w) = s.will.take() {
                self.touch(client_id);
                self.publish_will(w.message);
            }
        }
        let expired = self.sessions.get(client_id).and_then(Session::expires_at);
        if expired.is_some_and(|t| t <= now) {
            self.end_session(client_id);
        }
    }
}
