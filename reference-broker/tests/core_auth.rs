//! 5.0 enhanced authentication (§4.12) with `auth_method` set: the
//! challenge, its answer, refusal, re-authentication, and malformed AUTH.

mod support;

use bytes::Bytes;
use protocol::{Auth, Packet, Properties, QoS, ReasonCode, Version};
use reference_broker::Config;
use support::*;

const METHOD: &str = "GAUNTLET-CHALLENGE";

fn config() -> Config {
    Config {
        auth_method: Some(METHOD.into()),
        auth_challenge: "nonce".into(),
        auth_response: "secret".into(),
        ..Config::default()
    }
}

fn auth(reason: ReasonCode, method: &str, data: Option<&str>) -> Packet {
    let mut properties = Properties::default();
    properties.authentication_method = Some(method.into());
    properties.authentication_data = data.map(|d| Bytes::from(d.to_owned()));
    Packet::Auth(Auth { reason, properties })
}

/// Sends a CONNECT naming the method (and `max` as Maximum Packet Size);
/// returns the client and the challenge.
fn challenged(h: &mut Harness, id: &str, max: Option<u32>) -> (Client, Auth) {
    let mut c = connect(Version::V5, id);
    c.properties.authentication_method = Some(METHOD.into());
    c.properties.maximum_packet_size = max;
    let (client, got) = h.connect_with(c);
    match got.as_slice() {
        [Packet::Auth(a)] => (client, a.clone()),
        other => panic!("expected one AUTH, got {other:?}"),
    }
}

#[test]
fn the_challenge_answered_gives_a_connack_with_the_method() {
    let mut h = Harness::new(config());
    let (c, challenge) = challenged(&mut h, "c", None);
    assert_eq!(challenge.reason, ReasonCode::CONTINUE_AUTHENTICATION);
    assert_eq!(
        challenge.properties.authentication_method.as_deref(),
        Some(METHOD)
    );
    assert_eq!(
        challenge.properties.authentication_data.as_deref(),
        Some(&b"nonce"[..])
    );
    assert!(challenge.properties.reason_string.is_some());
    h.send(
        c,
        auth(ReasonCode::CONTINUE_AUTHENTICATION, METHOD, Some("secret")),
    );
    match h.recv(c).as_slice() {
        [Packet::ConnAck(a)] => {
            assert_eq!(a.reason, ReasonCode::SUCCESS);
            assert_eq!(a.properties.authentication_method.as_deref(), Some(METHOD));
        }
        other => panic!("expected CONNACK, got {other:?}"),
    }
    h.subscribe(c, "a", QoS::AtLeastOnce);
    assert!(!h.is_closed(c));
}

#[test]
fn a_wrong_answer_or_another_packet_before_the_connack_is_refused() {
    let mut h = Harness::new(config());
    let (c, _) = challenged(&mut h, "c", None);
    h.send(
        c,
        auth(ReasonCode::CONTINUE_AUTHENTICATION, METHOD, Some("guess")),
    );
    match h.recv(c).as_slice() {
        [Packet::ConnAck(a)] => assert_eq!(a.reason, ReasonCode::NOT_AUTHORIZED),
        other => panic!("expected CONNACK 0x87, got {other:?}"),
    }
    assert!(h.is_closed(c));
    assert!(h.broker.session("c").is_none());

    // Another method in the answer, then a PUBLISH before any CONNACK.
    let (c, _) = challenged(&mut h, "d", None);
    h.send(
        c,
        auth(ReasonCode::CONTINUE_AUTHENTICATION, "OTHER", Some("secret")),
    );
    assert!(h.is_closed(c));
    let (c, _) = challenged(&mut h, "e", None);
    h.send(c, Packet::Publish(publish("a", b"x", QoS::AtMostOnce)));
    assert!(h.is_closed(c));
    assert!(h.broker.session("e").is_none());
}

#[test]
fn an_auth_with_reserved_flags_is_malformed() {
    let mut h = Harness::new(config());
    let (c, _) = challenged(&mut h, "c", None);
    let mut bytes = protocol::encode_to_vec(
        &auth(ReasonCode::CONTINUE_AUTHENTICATION, METHOD, Some("secret")),
        Version::V5,
    )
    .unwrap();
    bytes[0] |= 0x01;
    h.send_raw(c, &bytes);
    assert!(h.is_closed(c));
    assert!(h.broker.session("c").is_none());
}

#[test]
fn re_authentication_succeeds_with_the_answer_and_closes_without_it() {
    let mut h = Harness::new(config());
    let (c, _) = challenged(&mut h, "c", None);
    h.send(
        c,
        auth(ReasonCode::CONTINUE_AUTHENTICATION, METHOD, Some("secret")),
    );
    h.recv(c);
    for (answer, ok) in [("secret", true), ("guess", false)] {
        h.send(c, auth(ReasonCode::RE_AUTHENTICATE, METHOD, None));
        match h.recv(c).as_slice() {
            [Packet::Auth(a)] => assert_eq!(a.reason, ReasonCode::CONTINUE_AUTHENTICATION),
            other => panic!("expected the challenge, got {other:?}"),
        }
        h.send(
            c,
            auth(ReasonCode::CONTINUE_AUTHENTICATION, METHOD, Some(answer)),
        );
        let got = h.recv(c);
        if ok {
            match got.as_slice() {
                [Packet::Auth(a)] => {
                    assert_eq!(a.reason, ReasonCode::SUCCESS);
                    assert_eq!(a.properties.authentication_method.as_deref(), Some(METHOD));
                }
                other => panic!("expected AUTH 0x00, got {other:?}"),
            }
            assert!(!h.is_closed(c));
        } else {
            match got.as_slice() {
                [Packet::Disconnect(d)] => assert_eq!(d.reason, ReasonCode::NOT_AUTHORIZED),
                other => panic!("expected DISCONNECT 0x87, got {other:?}"),
            }
            assert!(h.is_closed(c));
        }
    }
}

#[test]
fn an_auth_out_of_turn_is_a_protocol_error() {
    let mut h = Harness::new(config());
    let (c, _) = challenged(&mut h, "c", None);
    h.send(
        c,
        auth(ReasonCode::CONTINUE_AUTHENTICATION, METHOD, Some("secret")),
    );
    h.recv(c);
    // An answer with no challenge outstanding.
    h.send(
        c,
        auth(ReasonCode::CONTINUE_AUTHENTICATION, METHOD, Some("secret")),
    );
    match h.recv(c).as_slice() {
        [Packet::Disconnect(d)] => assert_eq!(d.reason, ReasonCode::PROTOCOL_ERROR),
        other => panic!("expected DISCONNECT 0x82, got {other:?}"),
    }
    assert!(h.is_closed(c));
}

#[test]
fn the_challenge_sheds_reason_string_then_user_property_to_fit() {
    let mut h = Harness::new(config());
    let full = protocol::encode_to_vec(&Packet::Auth(challenged(&mut h, "a", None).1), Version::V5)
        .unwrap()
        .len() as u32;
    let (_, a) = challenged(&mut h, "b", Some(full));
    assert!(a.properties.reason_string.is_some());
    let (_, a) = challenged(&mut h, "c", Some(full - 1));
    assert!(a.properties.reason_string.is_none());
    assert!(!a.properties.user_properties.is_empty());
    let bare = {
        let mut b = a.clone();
        b.properties.user_properties.clear();
        protocol::encode_to_vec(&Packet::Auth(b), Version::V5)
            .unwrap()
            .len() as u32
    };
    let (_, a) = challenged(&mut h, "d", Some(bare));
    assert!(a.properties.reason_string.is_none());
    assert!(a.properties.user_properties.is_empty());
    // Not even the bare challenge fits: refused, 0x95.
    let mut c = connect(Version::V5, "e");
    c.properties.authentication_method = Some(METHOD.into());
    c.properties.maximum_packet_size = Some(bare - 1);
    let (client, got) = h.connect_with(c);
    match got.as_slice() {
        [Packet::ConnAck(a)] => assert_eq!(a.reason, ReasonCode::PACKET_TOO_LARGE),
        other => panic!("expected CONNACK 0x95, got {other:?}"),
    }
    assert!(h.is_closed(client));
}
