//! `messages`: each message with its addresses resolved, what the sender asks of its client, and
//! what must happen.

use serde_saphyr::Spanned;

use crate::load::LoadedScenario;
use crate::model::{Id, MailClient, Message, MessageOptions, RefusalReason, Verdict};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    pub user: String,
    pub mailbox: String,
}

#[derive(Clone, Debug)]
pub struct SendMessage {
    /// 1-based position in the scenario's `messages`.
    pub number: usize,
    pub from: Recipient,
    pub to: Vec<Recipient>,
    pub cc: Vec<Recipient>,
    pub bcc: Vec<Recipient>,
    pub client: MailClient,
    /// The number of the message this one answers (its sender's client first installs the
    /// certificates that message carried).
    pub reply_to: Option<usize>,
    pub subject: String,
    pub body: String,
    /// What the sender asks of the client; the clients shape the message from it.
    pub request: ProtectionRequest,
    pub expect: MessageExpectation,
    pub snapshot: Option<String>,
}

/// What the sender asks of the sending client: whether to sign and encrypt, and the choices the
/// client would otherwise make itself. The one type for these: the scenario's `options` are
/// carried as written ([`MessageOptions`]), and each client's shaping
/// (`runner::execute::clients::shape`) reads this.
#[derive(Clone, Debug, Default)]
pub struct ProtectionRequest {
    pub sign: bool,
    pub encrypt: bool,
    /// `None`: the client's setting decides.
    pub triple_wrap: Option<bool>,
    /// `None`: the client's setting decides.
    pub opaque: Option<bool>,
    /// Digest, cipher, padding, recipient identifier, chain, signer.
    pub options: MessageOptions,
}

impl ProtectionRequest {
    /// A request to sign and/or encrypt, every other choice left to the client.
    pub fn new(sign: bool, encrypt: bool) -> Self {
        ProtectionRequest {
            sign,
            encrypt,
            ..ProtectionRequest::default()
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageExpectation {
    pub refused: bool,
    pub reason: Option<RefusalReason>,
    pub delivered: bool,
    pub verdict: Option<Verdict>,
    pub reasons: Vec<String>,
    pub decrypted: Option<bool>,
    pub weak: Option<bool>,
    /// How many messages the sink receives (Bcc forking); `None`: not checked.
    pub messages: Option<u32>,
}

pub(super) fn send(loaded: &LoadedScenario, index: usize, m: &Message) -> SendMessage {
    let recipient = |id: &Spanned<Id>| {
        let user = id.value.as_str();
        Recipient {
            user: user.to_owned(),
            mailbox: loaded.user(user).map_or_else(
                || format!("{user}@{}", loaded.domain),
                |u| u.mailbox.clone(),
            ),
        }
    };
    let number = index.saturating_add(1);
    let expect = &m.expect.value;
    let refused = expect.refused.value;
    SendMessage {
        number,
        from: recipient(&m.from),
        to: m.to.iter().map(recipient).collect(),
        cc: m.cc.iter().map(recipient).collect(),
        bcc: m.bcc.iter().map(recipient).collect(),
        client: m.client,
        reply_to: m
            .reply_to
            .as_ref()
            .and_then(|n| usize::try_from(n.value).ok()),
        subject: m
            .subject
            .clone()
            .unwrap_or_else(|| format!("{} #{number}", loaded.name())),
        body: m.body.clone().unwrap_or_else(|| {
            format!(
                "Message {number} of the smime-lab scenario {}.\r\n",
                loaded.name()
            )
        }),
        request: ProtectionRequest {
            sign: m.sign.value,
            encrypt: m.encrypt.value,
            triple_wrap: m.triple_wrap.as_ref().map(|t| t.value),
            opaque: m.opaque.as_ref().map(|o| o.value),
            options: m.options.value.clone(),
        },
        expect: MessageExpectation {
            refused,
            reason: expect.reason.as_ref().map(|r| r.value),
            delivered: expect.delivered.as_ref().map_or(!refused, |d| d.value),
            verdict: expect.verdict.as_ref().map(|v| v.value),
            reasons: expect
                .reasons
                .iter()
                .map(|r| r.value.as_str().to_owned())
                .collect(),
            decrypted: expect.decrypted.as_ref().map(|d| d.value),
            weak: expect.weak,
            messages: expect.messages.as_ref().map(|n| n.value),
        },
        snapshot: m.snapshot.as_ref().map(|s| s.value.as_str().to_owned()),
    }
}
