//! Deliberate defects the broker can be told to have, to show that gauntlet's
//! checkers catch real broker bugs. Public (as `Bug`, set in `Config::bugs`)
//! only with the `defects` feature; without it none can be turned on.

#[cfg(feature = "defects")]
use serde::{Deserialize, Serialize};

/// A defect the broker can be told to have (see `Config::bugs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(
    feature = "defects",
    derive(Deserialize, Serialize),
    serde(rename_all = "snake_case")
)]
pub enum Bug {
    /// A resumed session's queued messages are thrown away.
    OfflineQueueDroppedOnResume,
    /// A QoS 2 PUBLISH resent before PUBREL is forwarded again.
    Qos2ResendForwarded,
    /// `+` matches any number of levels, not exactly one.
    PlusMatchesManyLevels,
    /// Messages in flight are not resent when a session resumes.
    NoRedeliveryOnResume,
    /// A QoS 2 message is held until PUBREL and forwarded on every PUBREL,
    /// so a PUBREL resent after a lost PUBCOMP delivers it again.
    Qos2PubrelResendForwarded,
    /// A retained message is stored only where none is yet: a later one
    /// does not replace it.
    RetainedNotReplaced,
    /// Routing a message whose topic has an empty level (`a//b`) never
    /// returns: the broker hangs in an endless loop, as a topic-tree walk
    /// that does not advance past an empty level would.
    EndlessLoopOnEmptyLevel,
    /// Packet identifiers are counted from 1 again on every connection
    /// (the counter lives with the connection, not the session), and not
    /// checked against the messages still in flight from the session it
    /// resumes: a new message can take the id of one not yet acknowledged.
    ReusesInflightPacketId,
    /// Retained messages sent on subscribing go at the QoS they were
    /// stored with, not capped by the QoS granted to the subscription.
    RetainedQosNotCapped,
    /// The broker's own Maximum Packet Size is enforced one byte low: a
    /// packet exactly at the limit it announced is refused as too large.
    PacketSizeOffByOne,
    /// Fixed-header flags are not checked: a packet whose reserved bits
    /// are wrong is read as if they were right.
    ReservedFlagsIgnored,
    /// A PUBLISH with both QoS bits set is read as QoS 1.
    Qos3ReadAsQos1,
    /// A second CONNECT on a connection is ignored rather than closing it.
    SecondConnectIgnored,
    /// A packet only a server sends, coming from a client, stops the
    /// broker: every connection is closed, and every new one at once (as
    /// rumqttd 0.20's 5.0 router does after a client's CONNACK).
    HaltsOnServerPacket,
    /// With overlapping subscriptions, the one copy goes at the QoS of
    /// the first matching subscription, not the highest.
    OverlapQosOfFirstMatch,
    /// A queued message's Message Expiry Interval is neither checked nor
    /// reduced: it goes out as it came, however long it waited.
    ExpiryNotCounted,
    /// On resuming a session, the messages in flight are all resent at
    /// once, whatever Receive Maximum the new connection announced.
    ResumeOverReceiveMaximum,
    /// A session never expires: Session Expiry Interval is ignored.
    SessionNeverExpires,
    /// A client connecting with the identifier of a connected one takes
    /// its session, but the old connection is left open, as if forgotten.
    TakeoverLeavesOldOpen,
}

/// What a broker that does not check fixed-header flags reads: the first
/// byte mended to the flags the type must have (PUBLISH QoS 3 as QoS 1).
/// Whether it mended anything; only errors of the fixed header, raised
/// before the decoder consumes the packet, can be. (Without the `defects`
/// feature no bug is ever on, and nothing is mended.)
pub(crate) fn mend_fixed_header(
    config: &crate::Config,
    e: &protocol::DecodeError,
    buf: &mut bytes::BytesMut,
) -> bool {
    use protocol::ErrorKind;
    let Some(first) = buf.first().copied() else {
        return false;
    };
    let mended = match &e.kind {
        ErrorKind::ReservedFlags { packet, .. } if config.has_bug(Bug::ReservedFlagsIgnored) => {
            (first & 0xF0) | packet.required_flags().unwrap_or(0)
        }
        ErrorKind::InvalidQoS(3) if first >> 4 == 3 && config.has_bug(Bug::Qos3ReadAsQos1) => {
            first & !0b0100
        }
        _ => return false,
    };
    buf[0] = mended;
    true
}

#[cfg(feature = "defects")]
impl Bug {
    /// Every defect, for whoever lists them (gauntlet's schema).
    pub const ALL: [Bug; 19] = [
        Bug::OfflineQueueDroppedOnResume,
        Bug::Qos2ResendForwarded,
        Bug::PlusMatchesManyLevels,
        Bug::NoRedeliveryOnResume,
        Bug::Qos2PubrelResendForwarded,
        Bug::RetainedNotReplaced,
        Bug::EndlessLoopOnEmptyLevel,
        Bug::ReusesInflightPacketId,
        Bug::RetainedQosNotCapped,
        Bug::PacketSizeOffByOne,
        Bug::ReservedFlagsIgnored,
        Bug::Qos3ReadAsQos1,
        Bug::SecondConnectIgnored,
        Bug::HaltsOnServerPacket,
        Bug::OverlapQosOfFirstMatch,
        Bug::ExpiryNotCounted,
        Bug::ResumeOverReceiveMaximum,
        Bug::SessionNeverExpires,
        Bug::TakeoverLeavesOldOpen,
    ];
}
