//! The HTTP API in Mailpit's shape: list, paging, raw, headers, search and delete.

// A test target: unwrap, expect and panic are how a test fails (denied in non-test code only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Smtp, get, http, messages, queued_id};

/// Delivers three messages and returns their IDs, oldest first.
async fn three_messages(smtp_addr: std::net::SocketAddr) -> [String; 3] {
    let mut smtp = Smtp::connect(smtp_addr).await;
    let first = smtp
        .deliver(
            "bounce@contoso.com",
            "bob@contoso.com",
            b"From: Alice Example <alice@contoso.com>\r\nTo: Bob <bob@contoso.com>\r\n\
Subject: Quarterly report\r\nMessage-ID: <q1@contoso.com>\r\nX-Lab-Tag: blue\r\n\
X-Folded: one\r\n two\r\nReceived: by a\r\nReceived: by b\r\n\r\nThe   numbers\r\n are in.\r\n",
        )
        .await;
    let second = smtp
        .deliver(
            "carol@fabrikam.com",
            "dave@contoso.com",
            b"From: carol@fabrikam.com\r\nTo: dave@contoso.com\r\nCc: Erin <erin@contoso.com>\r\n\
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\r\nhello\r\n",
        )
        .await;
    let third = smtp
        .deliver(
            "alice@contoso.com",
            "hidden@contoso.com",
            b"From: alice@contoso.com\r\nTo: team@contoso.com\r\nSubject: Lunch\r\n\r\nnoon\r\n",
        )
        .await;
    [queued_id(&first), queued_id(&second), queued_id(&third)]
}

fn ids(list: &serde_json::Value) -> Vec<String> {
    list["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["ID"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn list_is_newest_first_and_pages() {
    let sink = common::start(64 * 1024).await;
    assert_eq!(get(sink.http_addr, "/livez").await.status, 200);
    let empty = get(sink.http_addr, "/api/v1/messages").await.json();
    assert_eq!(empty["total"], 0);
    assert_eq!(empty["messages"], serde_json::json!([]));

    let [a, b, c] = three_messages(sink.smtp_addr).await;
    let list = get(sink.http_addr, "/api/v1/messages").await;
    assert_eq!(list.status, 200);
    assert!(
        list.header("content-type")
            .unwrap_or("")
            .starts_with("application/json")
    );
    let list = list.json();
    assert_eq!(ids(&list), [c.clone(), b.clone(), a.clone()]);
    assert_eq!(
        (
            list["total"].clone(),
            list["count"].clone(),
            list["start"].clone()
        ),
        (3.into(), 3.into(), 0.into())
    );

    let first = &list["messages"][2];
    assert_eq!(first["MessageID"], "q1@contoso.com");
    assert_eq!(
        first["From"],
        serde_json::json!({"Name": "Alice Example", "Address": "alice@contoso.com"})
    );
    assert_eq!(
        first["To"],
        serde_json::json!([{"Name": "Bob", "Address": "bob@contoso.com"}])
    );
    assert_eq!(first["Subject"], "Quarterly report");
    assert_eq!(first["Snippet"], "The numbers are in.");
    let created = first["Created"].as_str().expect("Created");
    assert!(
        time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339)
            .is_ok(),
        "{created}"
    );
    let second = &list["messages"][1];
    assert_eq!(second["Subject"], "Grüße");
    assert_eq!(second["Cc"][0]["Address"], "erin@contoso.com");

    let page = get(sink.http_addr, "/api/v1/messages?start=1&limit=1")
        .await
        .json();
    assert_eq!(ids(&page), [b]);
    assert_eq!(
        (
            page["total"].clone(),
            page["count"].clone(),
            page["start"].clone()
        ),
        (3.into(), 1.into(), 1.into())
    );
    let beyond = get(sink.http_addr, "/api/v1/messages?start=10")
        .await
        .json();
    assert_eq!(beyond["count"], 0);
    assert_eq!(
        get(sink.http_addr, "/api/v1/messages?limit=lots")
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn raw_and_headers() {
    let sink = common::start(64 * 1024).await;
    let [a, _, c] = three_messages(sink.smtp_addr).await;

    let raw = get(sink.http_addr, &format!("/api/v1/message/{c}/raw")).await;
    assert_eq!(raw.status, 200);
    assert_eq!(
        raw.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        raw.body,
        b"From: alice@contoso.com\r\nTo: team@contoso.com\r\nSubject: Lunch\r\n\r\nnoon\r\n"
    );
    assert_eq!(
        get(sink.http_addr, "/api/v1/message/latest/raw").await.body,
        raw.body
    );

    let headers = get(sink.http_addr, &format!("/api/v1/message/{a}/headers"))
        .await
        .json();
    assert_eq!(
        headers["Message-Id"],
        serde_json::json!(["<q1@contoso.com>"])
    );
    assert_eq!(headers["X-Lab-Tag"], serde_json::json!(["blue"]));
    assert_eq!(headers["X-Folded"], serde_json::json!(["one two"]));
    assert_eq!(headers["Received"], serde_json::json!(["by a", "by b"]));
    let keys: Vec<&String> = headers.as_object().expect("map").keys().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "keys sorted like Mailpit's");

    for path in [
        "/api/v1/message/nope/raw",
        "/api/v1/message/nope/headers",
        "/api/v1/message/../raw",
    ] {
        assert_eq!(get(sink.http_addr, path).await.status, 404, "{path}");
    }
}

/// `/api/v1/delivered` (not in Mailpit): raw and envelope by Message-ID in one answer, the same
/// bytes and envelope the Mailpit-shaped routes give, the newest of two with one Message-ID.
#[tokio::test]
async fn delivered_by_message_id_in_one_request() {
    use base64::Engine as _;
    let sink = common::start(64 * 1024).await;
    let [a, _, _] = three_messages(sink.smtp_addr).await;

    let one = get(
        sink.http_addr,
        "/api/v1/delivered?message-id=q1@contoso.com",
    )
    .await;
    assert_eq!(one.status, 200);
    let one = one.json();
    assert_eq!(one["ID"], a.as_str());
    let raw = base64::engine::general_purpose::STANDARD
        .decode(one["Raw"].as_str().expect("Raw"))
        .expect("base64");
    assert_eq!(raw, common::raw(sink.http_addr, &a).await);
    let envelope = get(sink.http_addr, &format!("/api/v1/message/{a}/envelope"))
        .await
        .json();
    assert_eq!(one["Envelope"], envelope);
    assert_eq!(
        one["Envelope"]["RcptTo"],
        serde_json::json!(["bob@contoso.com"])
    );
    // Angle brackets, percent-encoded, are the same Message-ID.
    let bracketed = get(
        sink.http_addr,
        "/api/v1/delivered?message-id=%3Cq1%40contoso.com%3E",
    )
    .await
    .json();
    assert_eq!(bracketed["ID"], a.as_str());

    // A second copy with the same Message-ID (Bcc forking sends several): the newest is answered.
    let mut smtp = Smtp::connect(sink.smtp_addr).await;
    let copy = queued_id(
        &smtp
            .deliver(
                "bounce@contoso.com",
                "carol@contoso.com",
                b"From: alice@contoso.com\r\nMessage-ID: <q1@contoso.com>\r\n\r\ncopy\r\n",
            )
            .await,
    );
    let newest = get(
        sink.http_addr,
        "/api/v1/delivered?message-id=q1@contoso.com",
    )
    .await
    .json();
    assert_eq!(newest["ID"], copy.as_str());
    assert_eq!(
        newest["Envelope"]["RcptTo"],
        serde_json::json!(["carol@contoso.com"])
    );

    // Exact, not a substring as search is; nothing stored is 404; no parameter is 400.
    for (path, status) in [
        ("/api/v1/delivered?message-id=q1@contoso", 404),
        ("/api/v1/delivered?message-id=nobody@contoso.com", 404),
        ("/api/v1/delivered", 400),
        ("/api/v1/delivered?message-id=", 400),
    ] {
        assert_eq!(get(sink.http_addr, path).await.status, status, "{path}");
    }
}

#[tokio::test]
async fn search_subset() {
    let sink = common::start(64 * 1024).await;
    let [a, b, c] = three_messages(sink.smtp_addr).await;
    let search = |q: &'static str| {
        let addr = sink.http_addr;
        async move {
            let path = format!("/api/v1/search?query={q}");
            let response = get(addr, &path).await;
            assert_eq!(response.status, 200, "{q}: {}", response.text());
            response.json()
        }
    };
    let hits = |v: serde_json::Value| ids(&v);

    assert_eq!(hits(search("from:alice").await), [c.as_str(), a.as_str()]);
    assert_eq!(hits(search("from:fabrikam").await), [b.as_str()]);
    assert_eq!(
        hits(search("to:erin").await),
        [b.as_str()],
        "Cc counts as to:"
    );
    assert_eq!(
        hits(search("to:hidden").await),
        [c.as_str()],
        "envelope RCPT counts as to:"
    );
    assert_eq!(hits(search("subject:quarterly").await), [a.as_str()]);
    assert_eq!(
        hits(search("subject:%22gr%C3%BC%C3%9Fe%22").await),
        [b.as_str()],
        "decoded subject"
    );
    assert_eq!(
        hits(search("blue").await),
        [a.as_str()],
        "free text over headers"
    );
    assert_eq!(
        hits(search("from:alice%20-subject:lunch").await),
        [a.as_str()]
    );
    assert_eq!(
        hits(search("noon").await),
        Vec::<String>::new(),
        "bodies are not searched"
    );

    let paged = search("from:alice&start=1&limit=1").await;
    assert_eq!(ids(&paged), [a]);
    assert_eq!(
        (paged["total"].clone(), paged["messages_count"].clone()),
        (3.into(), 2.into())
    );

    for bad in [
        "/api/v1/search",
        "/api/v1/search?query=%20",
        "/api/v1/search?query=tag:x",
    ] {
        let response = get(sink.http_addr, bad).await;
        assert_eq!(response.status, 400, "{bad}");
        assert!(response.text().starts_with("Error:"), "{}", response.text());
    }
}

#[tokio::test]
async fn delete_some_then_all() {
    let sink = common::start(64 * 1024).await;
    let [a, b, c] = three_messages(sink.smtp_addr).await;

    let body = serde_json::json!({"IDs": [a, "unknown"]}).to_string();
    let response = http(
        sink.http_addr,
        "DELETE",
        "/api/v1/messages",
        body.as_bytes(),
    )
    .await;
    assert_eq!((response.status, response.text()), (200, "ok".to_owned()));
    let left: Vec<String> = messages(sink.http_addr)
        .await
        .iter()
        .filter_map(|m| m["ID"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(left, [c, b]);

    let refused = http(sink.http_addr, "DELETE", "/api/v1/messages", b"IDs=all").await;
    assert_eq!(
        refused.status, 400,
        "non-JSON is refused, not read as delete-all"
    );
    assert_eq!(messages(sink.http_addr).await.len(), 2);

    let response = http(sink.http_addr, "DELETE", "/api/v1/messages", b"").await;
    assert_eq!(response.status, 200);
    assert!(messages(sink.http_addr).await.is_empty());
}
