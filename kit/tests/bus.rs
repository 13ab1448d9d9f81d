//! The bus suite, on the in-process bus and on NATS JetStream when NATS_URL is set.

use std::time::Duration;

use futures::StreamExt;
use kit::events::Event;
use kit::testing::TestBackend;

fn event(prefix: &str, n: u32) -> Event {
    Event::new(
        prefix,
        "users.user_registered",
        None,
        serde_json::json!({ "n": n }),
    )
}

async fn next_within<S: futures::Stream + Unpin>(s: &mut S) -> S::Item {
    tokio::time::timeout(Duration::from_secs(10), s.next())
        .await
        .expect("a message within 10s")
        .expect("the stream stays open")
}

#[tokio::test]
async fn durable_consumer_gets_events_in_order_and_duplicates_are_dropped() {
    for b in TestBackend::all("bus").await {
        let bus = b.bus();
        let prefix = b.config.bus.subject_prefix.clone();
        let events: Vec<_> = (0..5).map(|n| event(&prefix, n)).collect();
        for e in &events {
            bus.publish(e).await.unwrap();
        }
        bus.publish(&events[2]).await.unwrap(); // a republished outbox row
        let mut d = bus
            .consume("c1", &[format!("{prefix}.users.>")])
            .await
            .unwrap();
        for e in &events {
            let got = next_within(&mut d).await.unwrap();
            assert_eq!(got.event.id, e.id, "{}", b.label);
            got.ack().await.unwrap();
        }
        let extra = tokio::time::timeout(Duration::from_millis(500), d.next()).await;
        assert!(extra.is_err(), "{}: the duplicate was delivered", b.label);
    }
}

#[tokio::test]
async fn unacked_event_is_redelivered_and_nak_retries() {
    for b in TestBackend::all("bus").await {
        let bus = b.bus();
        let prefix = b.config.bus.subject_prefix.clone();
        let e = event(&prefix, 1);
        bus.publish(&e).await.unwrap();
        let mut d = bus.consume("c2", &[format!("{prefix}.>")]).await.unwrap();
        let first = next_within(&mut d).await.unwrap();
        assert_eq!(first.attempt, 1);
        first.nak(Duration::from_millis(100)).await.unwrap();
        let second = next_within(&mut d).await.unwrap();
        assert_eq!(second.event.id, e.id);
        assert_eq!(second.attempt, 2, "{}", b.label);
        second.ack().await.unwrap();
    }
}

#[tokio::test]
async fn durable_consumer_resumes_after_reconnect() {
    for b in TestBackend::all("bus").await {
        let bus = b.bus();
        let prefix = b.config.bus.subject_prefix.clone();
        let (a, c) = (event(&prefix, 1), event(&prefix, 2));
        bus.publish(&a).await.unwrap();
        {
            let mut d = bus.consume("c3", &[format!("{prefix}.>")]).await.unwrap();
            next_within(&mut d).await.unwrap().ack().await.unwrap();
        }
        bus.publish(&c).await.unwrap();
        let mut d = bus.consume("c3", &[format!("{prefix}.>")]).await.unwrap();
        let got = next_within(&mut d).await.unwrap();
        assert_eq!(
            got.event.id, c.id,
            "{}: consumer restarted from the beginning",
            b.label
        );
        got.ack().await.unwrap();
    }
}

#[tokio::test]
async fn live_subscribers_see_only_matching_subjects() {
    for b in TestBackend::all("bus").await {
        let bus = b.bus();
        let prefix = b.config.bus.subject_prefix.clone();
        let mut live = bus
            .subscribe(&format!("{prefix}.social.chat_message_sent.room1"))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let other = Event::new(
            &prefix,
            "social.chat_message_sent",
            None,
            serde_json::json!({}),
        )
        .routed(&["room2"]);
        let mine = Event::new(
            &prefix,
            "social.chat_message_sent",
            None,
            serde_json::json!({}),
        )
        .routed(&["room1"]);
        bus.publish_ephemeral(&other).await.unwrap();
        bus.publish(&mine).await.unwrap();
        let got = next_within(&mut live).await;
        assert_eq!(got.id, mine.id, "{}", b.label);
    }
}

#[tokio::test]
async fn ephemeral_events_reach_live_subscribers_only_and_replay_returns_stored_ones() {
    for b in TestBackend::all("bus").await {
        let bus = b.bus();
        let prefix = b.config.bus.subject_prefix.clone();
        let subject = format!("{prefix}.social.chat_typing.room1");
        let since = chrono::Utc::now() - chrono::Duration::seconds(1);
        let mut live = bus
            .subscribe(&format!("{prefix}.social.*.room1"))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let typing = Event::new(&prefix, "social.chat_typing", None, serde_json::json!({}))
            .routed(&["room1"]);
        let stored = Event::new(
            &prefix,
            "social.chat_message_sent",
            None,
            serde_json::json!({}),
        )
        .routed(&["room1"]);
        let elsewhere = Event::new(
            &prefix,
            "social.chat_message_sent",
            None,
            serde_json::json!({}),
        )
        .routed(&["room2"]);
        bus.publish_ephemeral(&typing).await.unwrap();
        bus.publish(&stored).await.unwrap();
        bus.publish(&elsewhere).await.unwrap();
        // On NATS the two kinds travel on separate subjects: either may come first.
        let mut seen = [
            next_within(&mut live).await.id,
            next_within(&mut live).await.id,
        ];
        seen.sort();
        let mut expected = [typing.id, stored.id];
        expected.sort();
        assert_eq!(seen, expected, "{}", b.label);
        assert_eq!(subject, typing.subject);

        let replayed = bus
            .replay(&format!("{prefix}.social.*.room1"), since, 10)
            .await
            .unwrap();
        let ids: Vec<_> = replayed.iter().map(|e| e.id).collect();
        assert_eq!(
            ids,
            [stored.id],
            "{}: the typing event is not kept",
            b.label
        );
        let later = bus
            .replay(
                &format!("{prefix}.social.>"),
                chrono::Utc::now() + chrono::Duration::seconds(5),
                10,
            )
            .await
            .unwrap();
        assert!(later.is_empty(), "{}", b.label);
        let capped = bus
            .replay(&format!("{prefix}.social.>"), since, 1)
            .await
            .unwrap();
        assert_eq!(capped.len(), 1, "{}", b.label);
        // A durable consumer over the whole prefix never sees the typing event.
        let mut d = bus
            .consume("replay-check", &[format!("{prefix}.social.>")])
            .await
            .unwrap();
        let first = next_within(&mut d).await.unwrap();
        assert_eq!(first.event.id, stored.id, "{}", b.label);
    }
}

#[tokio::test]
async fn tail_hands_over_live_events_on_its_filter() {
    for b in TestBackend::all("bus").await {
        let bus = b.bus();
        let prefix = b.config.bus.subject_prefix.clone();
        let filter = format!("{prefix}.social.>");
        let tailing = tokio::spawn({
            let bus = bus.clone();
            async move {
                let mut got = Vec::new();
                kit::events::tail(&bus, &filter, Some(2), |e| {
                    got.push(e.id);
                    Ok(())
                })
                .await
                .map(|n| (n, got))
            }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let elsewhere = Event::new(
            &prefix,
            "users.user_registered",
            None,
            serde_json::json!({}),
        );
        let one = Event::new(&prefix, "social.followed", None, serde_json::json!({}));
        let two = Event::new(&prefix, "social.chat_typing", None, serde_json::json!({}));
        bus.publish(&elsewhere).await.unwrap();
        bus.publish(&one).await.unwrap();
        bus.publish_ephemeral(&two).await.unwrap();
        let (n, mut got) = tokio::time::timeout(Duration::from_secs(10), tailing)
            .await
            .expect("tail returns after its limit")
            .unwrap()
            .unwrap();
        got.sort();
        let mut expected = vec![one.id, two.id];
        expected.sort();
        assert_eq!((n, got), (2, expected), "{}", b.label);
    }
}
