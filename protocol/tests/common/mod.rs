//! Proptest strategies for packets, shared by `properties.rs` and `cross_check.rs`.
//!
//! [`Gen::valid`] makes only packets the specification allows, of all 15 types
//! (AUTH in 5.0 only): every property a packet may carry (MQTT 5.0 Table 2-4),
//! several user properties, every allowed reason code, subscription options,
//! wills with will properties, shared subscriptions, `$` topics, multi-byte
//! UTF-8, empty and multi-KiB payloads, topic aliases with an empty topic.
//!
//! [`Gen::loose`] drops the constraints (U+0000 and wildcards in strings, packet
//! identifier 0, any reason code byte, any property anywhere, options 3.1.1
//! lacks, ...) to check that whatever `encode` accepts `decode` gives back.

#![allow(dead_code)]

use bytes::Bytes;
use proptest::collection::vec;
use proptest::option::weighted;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::Union;

use protocol::packet::*;
use protocol::{
    PacketType, Properties, PropertyContext, PropertyId, PropertyValues, QoS, ReasonCode, Version,
};

pub const VERSIONS: [Version; 2] = [Version::V311, Version::V5];

/// How likely each optional property is to be present.
const PROPERTY_ODDS: f64 = 0.3;

/// Topic levels names are built from: empty levels, `$` levels, multi-byte
/// characters, and the levels of the specification's examples.
pub const NAME_LEVELS: &[&str] = &[
    "a", "b", "sport", "tennis", "player1", "", "$SYS", "$x", "ü", "中文", "😀", " ", "$share",
];

/// Levels filters are built from, the single-level wildcard among them; `#` is
/// added at the end only, as the multi-level wildcard must be last.
pub const FILTER_LEVELS: &[&str] = &[
    "a", "b", "sport", "tennis", "", "$SYS", "ü", "😀", "+", "$share",
];

pub fn version() -> impl Strategy<Value = Version> {
    prop_oneof![Just(Version::V311), Just(Version::V5)]
}

pub fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
}

/// Well-formed UTF-8 without U+0000: ASCII, 2-, 3- and 4-byte characters, a
/// BOM (MQTT-1.5.4-3: must be kept), a control character and a noncharacter
/// (both only "SHOULD NOT"), and now and then a long string.
pub fn text() -> BoxedStrategy<String> {
    prop_oneof![
        6 => "[a-zA-Z0-9 _./-]{0,12}",
        4 => "[a-zé߷€中😀\u{FEFF}\u{1}\u{7F}\u{FFFF}/ ]{0,10}",
        1 => "[a-z€😀]{100,300}",
    ]
    .boxed()
}

/// Any string at all, U+0000 and wildcards included.
pub fn loose_text() -> BoxedStrategy<String> {
    prop_oneof![
        6 => text(),
        1 => "[a€]{0,3}\u{0}[a€]{0,3}",
        1 => "[a+#/$€]{0,5}",
        1 => Just(String::new()),
    ]
    .boxed()
}

pub fn binary() -> BoxedStrategy<Bytes> {
    vec(any::<u8>(), 0..24).prop_map(Bytes::from).boxed()
}

/// Empty, small, a few KiB, and rarely more than 16 KiB (a 3-byte Remaining Length).
pub fn payload() -> BoxedStrategy<Bytes> {
    prop_oneof![
        3 => Just(Bytes::new()),
        6 => vec(any::<u8>(), 1..64).prop_map(Bytes::from),
        2 => vec(any::<u8>(), 64..4096).prop_map(Bytes::from),
        1 => "[a-z€😀]{0,40}".prop_map(Bytes::from),
        1 => vec(any::<u8>(), 16_380..16_500).prop_map(Bytes::from),
    ]
    .boxed()
}

/// A valid topic name: one to four levels, never empty, no wildcards.
pub fn topic_name() -> BoxedStrategy<String> {
    vec(select(NAME_LEVELS), 1..5)
        .prop_map(|levels| levels.join("/"))
        .prop_filter("topic names are not empty", |t| !t.is_empty())
        .boxed()
}

/// A valid filter without the shared prefix: levels, `+`, and maybe a last `#`.
pub fn plain_filter() -> BoxedStrategy<String> {
    (vec(select(FILTER_LEVELS), 0..5), any::<bool>())
        .prop_map(|(mut levels, hash)| {
            if hash || levels.is_empty() {
                levels.push("#");
            }
            levels.join("/")
        })
        .prop_filter("filters are not empty", |f| !f.is_empty())
        .boxed()
}

/// A valid filter for `version`; in 5.0 a quarter are shared subscriptions.
/// Those are generated for 3.1.1 too, where `$share/...` is an ordinary filter.
pub fn filter(version: Version) -> BoxedStrategy<String> {
    let shared = ("[a-zA-Z0-9_ü😀$-]{1,6}", plain_filter())
        .prop_map(|(group, filter)| format!("$share/{group}/{filter}"));
    prop_oneof![3 => plain_filter(), 1 => shared]
        .prop_filter("filter must be valid for the version", move |f| {
            protocol::topic::validate_filter(f, version == Version::V5).is_ok()
        })
        .boxed()
}

fn is_shared(filter: &str) -> bool {
    matches!(protocol::topic::SharedFilter::parse(filter), Ok(Some(_)))
}

/// Removes every property Table 2-4 does not allow in `ctx`.
pub fn retain_allowed(p: &mut PropertyValues, ctx: PropertyContext) {
    use PropertyId::*;
    for id in PropertyId::ALL {
        if id.allowed_in(ctx) {
            continue;
        }
        match id {
            PayloadFormatIndicator => p.payload_format_indicator = None,
            MessageExpiryInterval => p.message_expiry_interval = None,
            ContentType => p.content_type = None,
            ResponseTopic => p.response_topic = None,
            CorrelationData => p.correlation_data = None,
            SubscriptionIdentifier => p.subscription_identifiers.clear(),
            SessionExpiryInterval => p.session_expiry_interval = None,
            AssignedClientIdentifier => p.assigned_client_identifier = None,
            ServerKeepAlive => p.server_keep_alive = None,
            AuthenticationMethod => p.authentication_method = None,
            AuthenticationData => p.authentication_data = None,
            RequestProblemInformation => p.request_problem_information = None,
            WillDelayInterval => p.will_delay_interval = None,
            RequestResponseInformation => p.request_response_information = None,
            ResponseInformation => p.response_information = None,
            ServerReference => p.server_reference = None,
            ReasonString => p.reason_string = None,
            ReceiveMaximum => p.receive_maximum = None,
            TopicAliasMaximum => p.topic_alias_maximum = None,
            TopicAlias => p.topic_alias = None,
            MaximumQoS => p.maximum_qos = None,
            RetainAvailable => p.retain_available = None,
            UserProperty => p.user_properties.clear(),
            MaximumPacketSize => p.maximum_packet_size = None,
            WildcardSubscriptionAvailable => p.wildcard_subscription_available = None,
            SubscriptionIdentifierAvailable => p.subscription_identifier_available = None,
            SharedSubscriptionAvailable => p.shared_subscription_available = None,
        }
    }
    // Several only in a PUBLISH (one per matching subscription), MQTT 5.0 §3.3.2.3.8.
    if ctx != PropertyContext::Packet(PacketType::Publish) {
        p.subscription_identifiers.truncate(1);
    }
}

/// Packet strategies for one version, strict or loose.
#[derive(Clone, Copy, Debug)]
pub struct Gen {
    pub version: Version,
    pub loose: bool,
}

impl Gen {
    pub fn valid(version: Version) -> Gen {
        Gen {
            version,
            loose: false,
        }
    }

    pub fn loose(version: Version) -> Gen {
        Gen {
            version,
            loose: true,
        }
    }

    fn v5(self) -> bool {
        self.version == Version::V5
    }

    fn text(self) -> BoxedStrategy<String> {
        if self.loose {
            loose_text()
        } else {
            text()
        }
    }

    fn topic_name(self) -> BoxedStrategy<String> {
        if self.loose {
            prop_oneof![2 => topic_name(), 1 => loose_text()].boxed()
        } else {
            topic_name()
        }
    }

    fn filter(self) -> BoxedStrategy<String> {
        if self.loose {
            prop_oneof![2 => filter(self.version), 1 => loose_text()].boxed()
        } else {
            filter(self.version)
        }
    }

    fn packet_id(self) -> BoxedStrategy<u16> {
        if self.loose {
            prop_oneof![1 => Just(0u16), 15 => 1..=u16::MAX].boxed()
        } else {
            prop_oneof![Just(1u16), Just(u16::MAX), 1..=u16::MAX].boxed()
        }
    }

    /// The reason codes `packet` may carry; Success alone where the version has none.
    fn reason(self, packet: PacketType) -> BoxedStrategy<ReasonCode> {
        let allowed = ReasonCode::allowed(packet, self.version);
        let valid = if allowed.is_empty() {
            Just(ReasonCode::SUCCESS).boxed()
        } else {
            select(allowed).prop_map(ReasonCode).boxed()
        };
        if self.loose {
            prop_oneof![6 => valid, 1 => any::<u8>().prop_map(ReasonCode)].boxed()
        } else {
            valid
        }
    }

    /// A byte property whose valid values are 0 and 1.
    fn flag(self) -> BoxedStrategy<Option<u8>> {
        if self.loose {
            weighted(PROPERTY_ODDS, prop_oneof![8 => 0..=1u8, 1 => any::<u8>()]).boxed()
        } else {
            weighted(PROPERTY_ODDS, 0..=1u8).boxed()
        }
    }

    /// Values other than 0 (loose: 0 now and then).
    fn nonzero<T>(self, max: T) -> BoxedStrategy<Option<T>>
    where
        T: From<u8> + Copy + std::fmt::Debug + 'static,
        std::ops::RangeInclusive<T>: Strategy<Value = T>,
    {
        let valid = prop_oneof![Just(T::from(1)), Just(max), T::from(1)..=max];
        let value = if self.loose {
            prop_oneof![8 => valid, 1 => Just(T::from(0))].boxed()
        } else {
            valid.boxed()
        };
        weighted(PROPERTY_ODDS, value).boxed()
    }

    fn some<T: std::fmt::Debug>(
        self,
        s: impl Strategy<Value = T> + 'static,
    ) -> BoxedStrategy<Option<T>> {
        weighted(PROPERTY_ODDS, s).boxed()
    }

    /// Properties for `ctx`. In 3.1.1 there are none (in loose mode, rarely some).
    /// Values stay in their ranges; strings may be long and multi-byte.
    pub fn properties(self, ctx: PropertyContext) -> BoxedStrategy<Properties> {
        if !self.v5() && !self.loose {
            return Just(Properties::default()).boxed();
        }
        let sub_id = prop_oneof![
            Just(1u32),
            Just(protocol::VARINT_MAX),
            1..=protocol::VARINT_MAX
        ];
        let sub_id = if self.loose {
            prop_oneof![8 => sub_id, 1 => any::<u32>()].boxed()
        } else {
            sub_id.boxed()
        };
        let sub_ids = prop_oneof![
            3 => Just(Vec::new()),
            2 => vec(sub_id, 1..4),
        ];
        let user = prop_oneof![
            2 => Just(Vec::new()),
            3 => vec((self.text(), self.text()), 1..5),
        ];
        let response_topic = if self.loose {
            loose_text()
        } else {
            topic_name()
        };
        let first = (
            self.flag(),
            self.some(any::<u32>()),
            self.some(self.text()),
            self.some(response_topic),
            self.some(binary()),
            sub_ids,
            self.some(any::<u32>()),
            self.some(self.text()),
            self.some(any::<u16>()),
        );
        let second = (
            self.some(self.text()),
            self.some(binary()),
            self.flag(),
            self.some(any::<u32>()),
            self.flag(),
            self.some(self.text()),
            self.some(self.text()),
            self.some(self.text()),
            self.nonzero(u16::MAX),
        );
        let third = (
            self.some(any::<u16>()),
            self.nonzero(u16::MAX),
            self.flag(),
            self.flag(),
            user,
            self.nonzero(u32::MAX),
            self.flag(),
            self.flag(),
            self.flag(),
        );
        let loose = self.loose;
        let v5 = self.v5();
        (first, second, third, 0..8u8)
            .prop_map(move |(a, b, c, pick)| {
                let mut p = PropertyValues {
                    payload_format_indicator: a.0,
                    message_expiry_interval: a.1,
                    content_type: a.2,
                    response_topic: a.3,
                    correlation_data: a.4,
                    subscription_identifiers: a.5,
                    session_expiry_interval: a.6,
                    assigned_client_identifier: a.7,
                    server_keep_alive: a.8,
                    authentication_method: b.0,
                    authentication_data: b.1,
                    request_problem_information: b.2,
                    will_delay_interval: b.3,
                    request_response_information: b.4,
                    response_information: b.5,
                    server_reference: b.6,
                    reason_string: b.7,
                    receive_maximum: b.8,
                    topic_alias_maximum: c.0,
                    topic_alias: c.1,
                    maximum_qos: c.2,
                    retain_available: c.3,
                    user_properties: c.4,
                    maximum_packet_size: c.5,
                    wildcard_subscription_available: c.6,
                    subscription_identifier_available: c.7,
                    shared_subscription_available: c.8,
                };
                if loose {
                    // Mostly keep to the allowed set, so that more than the
                    // first misplaced property gets a chance to be checked.
                    if pick != 0 {
                        retain_allowed(&mut p, ctx);
                    }
                    if !v5 && pick != 1 {
                        p = PropertyValues::default();
                    }
                } else {
                    retain_allowed(&mut p, ctx);
                }
                Properties::from(p)
            })
            .boxed()
    }

    fn packet_props(self, t: PacketType) -> BoxedStrategy<Properties> {
        self.properties(PropertyContext::Packet(t))
    }

    pub fn will(self) -> BoxedStrategy<Will> {
        (
            self.topic_name(),
            payload(),
            qos(),
            any::<bool>(),
            self.properties(PropertyContext::Will),
        )
            .prop_map(|(topic, payload, qos, retain, properties)| Will {
                topic,
                payload,
                qos,
                retain,
                properties,
            })
            .boxed()
    }

    pub fn connect(self) -> BoxedStrategy<Packet> {
        let version = if self.loose {
            prop_oneof![4 => Just(self.version), 1 => crate::common::version()].boxed()
        } else {
            Just(self.version).boxed()
        };
        let g = self;
        (
            version,
            any::<bool>(),
            any::<u16>(),
            self.packet_props(PacketType::Connect),
            self.text(),
            weighted(0.5, self.will()),
            weighted(0.5, self.text()),
            weighted(0.5, binary()),
        )
            .prop_map(
                move |(
                    version,
                    clean_start,
                    keep_alive,
                    mut properties,
                    client_id,
                    will,
                    mut username,
                    password,
                )| {
                    if !g.loose {
                        // MQTT 5.0 §3.1.2.11.10: data without a method is a Protocol Error.
                        if properties.authentication_method.is_none() {
                            properties.authentication_data = None;
                        }
                        // MQTT-3.1.2-22: in 3.1.1 a password needs a user name.
                        if g.version == Version::V311 && password.is_some() && username.is_none() {
                            username = Some("user".into());
                        }
                    }
                    Packet::from(Connect {
                        version,
                        clean_start,
                        keep_alive,
                        properties,
                        client_id,
                        will,
                        username,
                        password,
                    })
                },
            )
            .boxed()
    }

    pub fn connack(self) -> BoxedStrategy<Packet> {
        let loose = self.loose;
        (
            any::<bool>(),
            self.reason(PacketType::ConnAck),
            self.packet_props(PacketType::ConnAck),
        )
            .prop_map(move |(session_present, reason, properties)| {
                Packet::ConnAck(ConnAck {
                    // MQTT-3.2.2-4 (3.1.1) / MQTT-3.2.2-6 (5.0).
                    session_present: session_present && (loose || reason == ReasonCode::SUCCESS),
                    reason,
                    properties,
                })
            })
            .boxed()
    }

    pub fn publish(self) -> BoxedStrategy<Packet> {
        let g = self;
        (
            qos(),
            any::<bool>(),
            any::<bool>(),
            self.topic_name(),
            self.packet_id(),
            self.packet_props(PacketType::Publish),
            payload(),
            0..4u8,
            1..=u16::MAX,
        )
            .prop_map(
                move |(
                    qos,
                    dup,
                    retain,
                    mut topic,
                    id,
                    mut properties,
                    payload,
                    alias,
                    alias_value,
                )| {
                    let mut packet_id = (qos != QoS::AtMostOnce).then_some(id);
                    let mut dup = dup && qos != QoS::AtMostOnce;
                    if g.loose && alias == 0 {
                        // A packet identifier or DUP on QoS 0, or none on QoS > 0.
                        packet_id = packet_id.xor(Some(id));
                        dup = !dup;
                    }
                    if g.v5() && alias == 1 {
                        // MQTT 5.0 §3.3.2.3.4: an empty name stands for the alias.
                        properties.topic_alias = Some(alias_value);
                        topic.clear();
                    }
                    Packet::Publish(Publish {
                        dup,
                        qos,
                        retain,
                        topic,
                        packet_id,
                        properties,
                        payload,
                    })
                },
            )
            .boxed()
    }

    pub fn ack(self, t: PacketType) -> BoxedStrategy<Packet> {
        (self.packet_id(), self.reason(t), self.packet_props(t))
            .prop_map(move |(packet_id, reason, properties)| {
                let a = Ack {
                    packet_id,
                    reason,
                    properties,
                };
                match t {
                    PacketType::PubAck => Packet::PubAck(a),
                    PacketType::PubRec => Packet::PubRec(a),
                    PacketType::PubRel => Packet::PubRel(a),
                    PacketType::PubComp => Packet::PubComp(a),
                    _ => unreachable!("{t} is not an acknowledgement"),
                }
            })
            .boxed()
    }

    pub fn subscription(self) -> BoxedStrategy<Subscription> {
        let g = self;
        let rh = prop_oneof![
            Just(RetainHandling::SendAtSubscribe),
            Just(RetainHandling::SendIfNew),
            Just(RetainHandling::DoNotSend)
        ];
        (
            self.filter(),
            qos(),
            any::<bool>(),
            any::<bool>(),
            rh,
            0..4u8,
        )
            .prop_map(move |(filter, qos, no_local, rap, retain_handling, pick)| {
                let options = if g.v5() || (g.loose && pick == 0) {
                    SubscriptionOptions {
                        qos,
                        // MQTT-3.8.3-4: no No Local on a shared subscription.
                        no_local: no_local && (g.loose || !is_shared(&filter)),
                        retain_as_published: rap,
                        retain_handling,
                    }
                } else {
                    SubscriptionOptions {
                        qos,
                        ..SubscriptionOptions::default()
                    }
                };
                Subscription { filter, options }
            })
            .boxed()
    }

    fn count(self) -> std::ops::Range<usize> {
        if self.loose {
            0..5
        } else {
            1..5
        }
    }

    pub fn subscribe(self) -> BoxedStrategy<Packet> {
        (
            self.packet_id(),
            self.packet_props(PacketType::Subscribe),
            vec(self.subscription(), self.count()),
        )
            .prop_map(|(packet_id, properties, filters)| {
                Packet::Subscribe(Subscribe {
                    packet_id,
                    properties,
                    filters,
                })
            })
            .boxed()
    }

    pub fn suback(self) -> BoxedStrategy<Packet> {
        (
            self.packet_id(),
            self.packet_props(PacketType::SubAck),
            vec(self.reason(PacketType::SubAck), self.count()),
        )
            .prop_map(|(packet_id, properties, reasons)| {
                Packet::SubAck(SubAck {
                    packet_id,
                    properties,
                    reasons,
                })
            })
            .boxed()
    }

    pub fn unsubscribe(self) -> BoxedStrategy<Packet> {
        (
            self.packet_id(),
            self.packet_props(PacketType::Unsubscribe),
            vec(self.filter(), self.count()),
        )
            .prop_map(|(packet_id, properties, filters)| {
                Packet::Unsubscribe(Unsubscribe {
                    packet_id,
                    properties,
                    filters,
                })
            })
            .boxed()
    }

    pub fn unsuback(self) -> BoxedStrategy<Packet> {
        // 3.1.1's UNSUBACK has no payload.
        let count = if self.v5() || self.loose {
            self.count()
        } else {
            0..1
        };
        (
            self.packet_id(),
            self.packet_props(PacketType::UnsubAck),
            vec(self.reason(PacketType::UnsubAck), count),
        )
            .prop_map(|(packet_id, properties, reasons)| {
                Packet::UnsubAck(UnsubAck {
                    packet_id,
                    properties,
                    reasons,
                })
            })
            .boxed()
    }

    pub fn disconnect(self) -> BoxedStrategy<Packet> {
        (
            self.reason(PacketType::Disconnect),
            self.packet_props(PacketType::Disconnect),
        )
            .prop_map(|(reason, properties)| Packet::Disconnect(Disconnect { reason, properties }))
            .boxed()
    }

    pub fn auth(self) -> BoxedStrategy<Packet> {
        (
            self.reason(PacketType::Auth),
            self.packet_props(PacketType::Auth),
        )
            .prop_map(|(reason, properties)| Packet::Auth(Auth { reason, properties }))
            .boxed()
    }

    /// Packets of type `t`.
    pub fn of_type(self, t: PacketType) -> BoxedStrategy<Packet> {
        match t {
            PacketType::Connect => self.connect(),
            PacketType::ConnAck => self.connack(),
            PacketType::Publish => self.publish(),
            PacketType::PubAck | PacketType::PubRec | PacketType::PubRel | PacketType::PubComp => {
                self.ack(t)
            }
            PacketType::Subscribe => self.subscribe(),
            PacketType::SubAck => self.suback(),
            PacketType::Unsubscribe => self.unsubscribe(),
            PacketType::UnsubAck => self.unsuback(),
            PacketType::PingReq => Just(Packet::PingReq).boxed(),
            PacketType::PingResp => Just(Packet::PingResp).boxed(),
            PacketType::Disconnect => self.disconnect(),
            PacketType::Auth => self.auth(),
        }
    }

    /// The packet types this version has (AUTH only in 5.0, except in loose mode).
    pub fn types(self) -> Vec<PacketType> {
        PacketType::ALL
            .into_iter()
            .filter(|t| self.v5() || self.loose || *t != PacketType::Auth)
            .collect()
    }

    /// A packet of any type, each type equally likely.
    pub fn packet(self) -> BoxedStrategy<Packet> {
        Union::new(self.types().into_iter().map(|t| self.of_type(t))).boxed()
    }
}

/// A valid packet of either version, with its version.
pub fn any_valid_packet() -> BoxedStrategy<(Version, Packet)> {
    prop_oneof![
        Gen::valid(Version::V311)
            .packet()
            .prop_map(|p| (Version::V311, p)),
        Gen::valid(Version::V5)
            .packet()
            .prop_map(|p| (Version::V5, p)),
    ]
    .boxed()
}

/// Encodes a packet the strategies call valid; failing to is a test failure.
pub fn encode_valid(packet: &Packet, version: Version) -> Vec<u8> {
    match protocol::encode_to_vec(packet, version) {
        Ok(bytes) => bytes,
        Err(e) => panic!("encode refused a valid {version} packet ({e}): {packet:#?}"),
    }
}
