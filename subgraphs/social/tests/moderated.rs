//! Moderation's decisions as social carries them out (on SQLite and on
//! PostgreSQL/Redis/NATS): hidden content is absent for everyone but its
//! author and moderators, who see it marked; counts follow; a ban hides an
//! account's content and reinstating brings it back; a redelivered decision
//! changes nothing. And what social tells moderation: every text written,
//! edited or deleted, with the text.

mod common;

use common::{nets, Net, Person};
use kit::auth::Role;
use kit::events::outbox::entity as outbox;
use kit::events::{process_once, Event};
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{json, Value};
use social::ModerationEvents;

async fn decide(net: &Net, name: &str, payload: Value) -> (Event, bool) {
    let event = Event::new("marquee", &format!("moderation.{name}"), None, payload);
    let done = deliver(net, &event).await;
    (event, done)
}

async fn deliver(net: &Net, event: &Event) -> bool {
    process_once(
        &net.social.services.db,
        "social-moderation",
        event,
        &ModerationEvents(net.social.clone()),
    )
    .await
    .expect("the decision applies")
}

async fn thread(net: &Net, who: Option<&Person>, post: &str) -> Value {
    net.ok(
        who,
        "query($p: ID!) { post(id: $p) { commentCount comments { edges { node { id hidden } } } } }",
        json!({"p": post}),
    )
    .await["post"]
        .clone()
}

#[tokio::test]
async fn hidden_comments_are_absent_for_others_and_marked_for_their_author() {
    for net in nets().await {
        let author = net.user("hid_author").await;
        let poster = net.user("hid_poster").await;
        let other = net.user("hid_other").await;
        let moderator = net.person("hid_mod", Role::Moderator).await;
        let post = net.post(&poster, "a film").await;
        let comment = net.comment(&author, &post, None).await;
        let hide = json!({"targetKind": "COMMENT", "targetId": comment, "authorId": author.id});
        let (event, done) = decide(&net, "content_hidden", hide.clone()).await;
        assert!(done);
        assert!(!deliver(&net, &event).await, "a redelivery is skipped");
        // A second decision to hide (a new event) changes nothing either.
        decide(&net, "content_hidden", hide).await;
        let seen = thread(&net, Some(&other), &post).await;
        assert_eq!(seen["commentCount"], 0, "[{}] {seen}", net.label);
        assert_eq!(seen["comments"]["edges"].as_array().map(Vec::len), Some(0));
        let q = "query($c: ID!) { comment(id: $c) { id hidden } }";
        let v = net.ok(Some(&other), q, json!({"c": comment})).await;
        assert!(v["comment"].is_null());
        for who in [&author, &moderator] {
            let mine = thread(&net, Some(who), &post).await;
            assert_eq!(mine["comments"]["edges"][0]["node"]["hidden"], true);
            let v = net.ok(Some(who), q, json!({"c": comment})).await;
            assert_eq!(v["comment"]["hidden"], true);
        }
        decide(
            &net,
            "content_restored",
            json!({"targetKind": "COMMENT", "targetId": comment}),
        )
        .await;
        let back = thread(&net, Some(&other), &post).await;
        assert_eq!(back["commentCount"], 1, "[{}] {back}", net.label);
        assert_eq!(back["comments"]["edges"][0]["node"]["hidden"], false);
    }
}

#[tokio::test]
async fn a_ban_hides_the_accounts_posts_until_it_is_reinstated() {
    for net in nets().await {
        let author = net.user("ban_author").await;
        let other = net.user("ban_other").await;
        let post = net.post(&author, "my post").await;
        let q = "query($p: ID!) { post(id: $p) { id hidden } }";
        decide(&net, "user_banned", json!({"userId": author.id})).await;
        assert!(net.ok(Some(&other), q, json!({"p": post})).await["post"].is_null());
        assert_eq!(
            net.ok(Some(&author), q, json!({"p": post})).await["post"]["hidden"],
            true
        );
        let list = net
            .ok(
                Some(&other),
                "query($u: ID!) { userPosts(userId: $u) { edges { node { id } } } }",
                json!({"u": author.id}),
            )
            .await;
        assert_eq!(list["userPosts"]["edges"].as_array().map(Vec::len), Some(0));
        decide(&net, "user_reinstated", json!({"userId": author.id})).await;
        assert_eq!(
            net.ok(Some(&other), q, json!({"p": post})).await["post"]["hidden"],
            false
        );
    }
}

#[tokio::test]
async fn texts_written_edited_and_deleted_reach_the_bus_with_their_text() {
    for net in nets().await {
        let author = net.user("txt_author").await;
        let post = net.post(&author, "first words").await;
        net.ok(
            Some(&author),
            "mutation($p: ID!) { editPost(id: $p, body: \"second words\") { id } }",
            json!({"p": post}),
        )
        .await;
        let comment = net.comment(&author, &post, None).await;
        net.ok(
            Some(&author),
            "mutation($c: ID!) { editComment(id: $c, body: \"edited\") { id } }",
            json!({"c": comment}),
        )
        .await;
        net.ok(
            Some(&author),
            "mutation($c: ID!) { deleteComment(id: $c) { id } }",
            json!({"c": comment}),
        )
        .await;
        let events: Vec<(String, Value)> = outbox::Entity::find()
            .order_by_asc(outbox::Column::Seq)
            .all(&net.social.services.db)
            .await
            .expect("the outbox reads")
            .into_iter()
            .map(|r| {
                let e: Event = serde_json::from_str(&r.body).expect("an envelope");
                (e.event_type, e.payload)
            })
            .collect();
        let find = |t: &str| {
            events
                .iter()
                .find(|(name, _)| name == t)
                .map(|(_, p)| p.clone())
                .unwrap_or_else(|| panic!("no {t} in {events:?}"))
        };
        assert_eq!(find("social.post_created")["body"], "first words");
        assert_eq!(find("social.post_edited")["body"], "second words");
        assert_eq!(find("social.comment_created")["body"], "a comment");
        assert_eq!(find("social.comment_edited")["body"], "edited");
        assert_eq!(
            find("social.comment_deleted")["commentId"],
            comment.as_str()
        );
    }
}

#[tokio::test]
async fn a_decision_delivered_again_through_the_bus_changes_nothing() {
    for net in nets().await {
        let author = net.user("bus_author").await;
        let poster = net.user("bus_poster").await;
        let post = net.post(&poster, "a film").await;
        let first = net.comment(&author, &post, None).await;
        let last = net.comment(&author, &post, None).await;
        social::spawn_consumers(&net.social);
        let s = &net.social.services;
        let prefix = s.config.bus.subject_prefix.clone();
        let hide = |id: &str| {
            Event::new(
                &prefix,
                "moderation.content_hidden",
                None,
                json!({"targetKind": "COMMENT", "targetId": id}),
            )
        };
        let event = hide(&first);
        s.bus.publish(&event).await.expect("published");
        // The same decision again, as `marquee events replay` sends it.
        let mut again = Event::new(
            &prefix,
            "replay.social-moderation",
            None,
            json!({ "event": event }),
        );
        again.subject = kit::events::replay_subject(&prefix, "social-moderation");
        s.bus.publish(&again).await.expect("published");
        s.bus.publish(&hide(&last)).await.expect("published");
        let q = "query($c: ID!) { comment(id: $c) { hidden } }";
        let mut waited = 0;
        while net.ok(Some(&author), q, json!({"c": last})).await["comment"]["hidden"] != true {
            waited += 1;
            assert!(waited < 300, "[{}] the consumer never caught up", net.label);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let seen = thread(&net, Some(&poster), &post).await;
        assert_eq!(seen["commentCount"], 0, "[{}] {seen}", net.label);
        s.shutdown.cancel();
    }
}

#[tokio::test]
async fn a_hidden_chat_message_is_its_authors_alone() {
    for net in nets().await {
        let author = net.user("chat_author").await;
        let other = net.user("chat_other").await;
        let room = net
            .ok(
                Some(&author),
                "mutation($u: ID!) { createChatRoom(memberIds: [$u]) { id } }",
                json!({"u": other.id}),
            )
            .await["createChatRoom"]["id"]
            .as_str()
            .expect("a room")
            .to_string();
        let message = net
            .ok(
                Some(&author),
                "mutation($r: ID!) { sendChatMessage(roomId: $r, body: \"buy cheap pills\") { id } }",
                json!({"r": room}),
            )
            .await["sendChatMessage"]["id"]
            .as_str()
            .expect("a message")
            .to_string();
        decide(
            &net,
            "content_hidden",
            json!({"targetKind": "CHAT_MESSAGE", "targetId": message}),
        )
        .await;
        let q = "query($r: ID!) { chatMessages(roomId: $r) { edges { node { id hidden } } } }";
        let theirs = net.ok(Some(&other), q, json!({"r": room})).await;
        assert_eq!(
            theirs["chatMessages"]["edges"].as_array().map(Vec::len),
            Some(0),
            "[{}] {theirs}",
            net.label
        );
        let mine = net.ok(Some(&author), q, json!({"r": room})).await;
        assert_eq!(mine["chatMessages"]["edges"][0]["node"]["hidden"], true);
        decide(
            &net,
            "content_restored",
            json!({"targetKind": "CHAT_MESSAGE", "targetId": message}),
        )
        .await;
        let back = net.ok(Some(&other), q, json!({"r": room})).await;
        assert_eq!(back["chatMessages"]["edges"][0]["node"]["hidden"], false);
    }
}
