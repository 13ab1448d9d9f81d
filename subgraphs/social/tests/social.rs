//! The social graph on SQLite and on PostgreSQL/Redis/NATS, through its own
//! GraphQL schema: who may write what, exact counters under concurrency,
//! blocking rules, grouped notifications, threads, reviews and ratings,
//! private lists, chat membership, text rules, and what a page costs in SQL.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{nets, Net, Person};
use futures::StreamExt;
use kit::auth::Role;
use serde_json::{json, Value};
use uuid::Uuid;

const LIKE_POST: &str = "mutation($p: ID!) { like(target: {postId: $p}) { likeCount likedByMe } }";

#[tokio::test]
async fn every_mutation_refuses_an_anonymous_caller() {
    let some = Uuid::now_v7().to_string();
    let mutations = [
        "mutation { createPost(input: {body: \"hi\"}) { id } }",
        "mutation($x: ID!) { editPost(id: $x, body: \"b\") { id } }",
        "mutation($x: ID!) { deletePost(id: $x) }",
        "mutation($x: ID!) { sharePost(postId: $x) { id } }",
        "mutation($x: ID!) { addComment(input: {postId: $x, body: \"b\"}) { id } }",
        "mutation($x: ID!) { editComment(id: $x, body: \"b\") { id } }",
        "mutation($x: ID!) { deleteComment(id: $x) { id } }",
        "mutation($x: ID!) { like(target: {postId: $x}) { likeCount } }",
        "mutation($x: ID!) { unlike(target: {postId: $x}) { likeCount } }",
        "mutation($x: ID!) { follow(userId: $x) { id } }",
        "mutation($x: ID!) { unfollow(userId: $x) { id } }",
        "mutation($x: ID!) { approveFollowRequest(userId: $x) { id } }",
        "mutation($x: ID!) { declineFollowRequest(userId: $x) { id } }",
        "mutation($x: ID!) { cancelFollowRequest(userId: $x) { id } }",
        "mutation($x: ID!) { blockUser(userId: $x) }",
        "mutation($x: ID!) { unblockUser(userId: $x) }",
        "mutation { setProfilePrivate(private: true) }",
        "mutation($x: ID!) { rateTitle(titleId: $x, score: 5) { score } }",
        "mutation($x: ID!) { removeRating(titleId: $x) }",
        "mutation($x: ID!) { writeReview(input: {titleId: $x, body: \"b\"}) { id } }",
        "mutation($x: ID!) { editReview(id: $x, input: {body: \"b\"}) { id } }",
        "mutation($x: ID!) { deleteReview(id: $x) }",
        "mutation($x: ID!) { addToWatchlist(titleId: $x) }",
        "mutation($x: ID!) { removeFromWatchlist(titleId: $x) }",
        "mutation($x: ID!) { markWatched(titleId: $x) { id } }",
        "mutation { markNotificationsRead(all: true) }",
        "mutation($x: ID!) { createChatRoom(memberIds: [$x]) { id } }",
        "mutation($x: ID!) { sendChatMessage(roomId: $x, body: \"b\") { id } }",
        "mutation($x: ID!) { markRoomRead(roomId: $x) { id } }",
    ];
    for net in nets().await {
        for m in mutations {
            let vars = if m.contains("$x") {
                json!({"x": some})
            } else {
                json!({})
            };
            assert_eq!(
                net.code(None, m, vars).await,
                "UNAUTHENTICATED",
                "[{}] {m}",
                net.label
            );
        }
        // Private reads too.
        for q in [
            "{ feed { edges { cursor } } }",
            "{ notifications { edges { cursor } } }",
            "{ unreadNotificationCount }",
            "{ chatRooms { edges { cursor } } }",
            "{ followRequests { edges { cursor } } }",
        ] {
            assert_eq!(
                net.code(None, q, json!({})).await,
                "UNAUTHENTICATED",
                "[{}] {q}",
                net.label
            );
        }
    }
}

#[tokio::test]
async fn only_authors_edit_and_moderators_may_remove_anything() {
    for net in nets().await {
        let l = net.label;
        let ann = net.user("ann").await;
        let bob = net.user("bob").await;
        let moderator = net.person("mod", Role::Moderator).await;
        let admin = net.person("root", Role::Admin).await;

        // Posts.
        let post = net.post(&ann, "First post").await;
        let edit =
            "mutation($x: ID!, $b: String!) { editPost(id: $x, body: $b) { body editedAt } }";
        let d = net
            .ok(Some(&ann), edit, json!({"x": post, "b": "Edited"}))
            .await;
        assert_eq!(d["editPost"]["body"], "Edited", "[{l}]");
        assert!(d["editPost"]["editedAt"].is_string(), "[{l}]");
        for other in [&bob, &moderator, &admin] {
            assert_eq!(
                net.code(Some(other), edit, json!({"x": post, "b": "Hijacked"}))
                    .await,
                "FORBIDDEN",
                "[{l}] {:?} edits ann's post",
                other.role
            );
        }
        let delete = "mutation($x: ID!) { deletePost(id: $x) }";
        assert_eq!(
            net.code(Some(&bob), delete, json!({"x": post})).await,
            "FORBIDDEN",
            "[{l}]"
        );
        let by_mod = net.post(&ann, "For the moderator").await;
        let by_admin = net.post(&ann, "For the admin").await;
        net.ok(Some(&moderator), delete, json!({"x": by_mod})).await;
        net.ok(Some(&admin), delete, json!({"x": by_admin})).await;
        net.ok(Some(&ann), delete, json!({"x": post})).await;
        for gone in [&post, &by_mod, &by_admin] {
            let d = net
                .ok(
                    None,
                    "query($x: ID!) { post(id: $x) { id } }",
                    json!({"x": gone}),
                )
                .await;
            assert!(d["post"].is_null(), "[{l}] a deleted post still shows");
        }
        assert_eq!(
            net.code(Some(&ann), delete, json!({"x": post})).await,
            "NOT_FOUND",
            "[{l}] deleting twice"
        );

        // Comments.
        let post = net.post(&ann, "Second post").await;
        let comment = net.comment(&bob, &post, None).await;
        let edit_c = "mutation($x: ID!) { editComment(id: $x, body: \"Better\") { body } }";
        assert_eq!(
            net.code(Some(&ann), edit_c, json!({"x": comment})).await,
            "FORBIDDEN",
            "[{l}] the post's author edits a comment"
        );
        net.ok(Some(&bob), edit_c, json!({"x": comment})).await;
        let delete_c = "mutation($x: ID!) { deleteComment(id: $x) { deleted body author { id } } }";
        let third = net.user("cat").await;
        assert_eq!(
            net.code(Some(&third), delete_c, json!({"x": comment}))
                .await,
            "FORBIDDEN",
            "[{l}]"
        );
        let d = net
            .ok(Some(&moderator), delete_c, json!({"x": comment}))
            .await;
        assert_eq!(d["deleteComment"]["deleted"], true, "[{l}]");
        assert!(d["deleteComment"]["body"].is_null(), "[{l}]");
        let own = net.comment(&bob, &post, None).await;
        net.ok(Some(&bob), delete_c, json!({"x": own})).await;
        let admins = net.comment(&bob, &post, None).await;
        net.ok(Some(&admin), delete_c, json!({"x": admins})).await;

        // Reviews.
        let title = Uuid::now_v7().to_string();
        let d = net
            .ok(
                Some(&bob),
                "mutation($t: ID!) { writeReview(input: {titleId: $t, body: \"Fine\", score: 7}) { id } }",
                json!({"t": title}),
            )
            .await;
        let review = d["writeReview"]["id"].as_str().unwrap().to_string();
        let edit_r = "mutation($x: ID!) { editReview(id: $x, input: {body: \"Finer\", score: 8}) { body score } }";
        assert_eq!(
            net.code(Some(&ann), edit_r, json!({"x": review})).await,
            "FORBIDDEN",
            "[{l}]"
        );
        let d = net.ok(Some(&bob), edit_r, json!({"x": review})).await;
        assert_eq!(d["editReview"]["score"], 8, "[{l}]");
        let delete_r = "mutation($x: ID!) { deleteReview(id: $x) }";
        assert_eq!(
            net.code(Some(&ann), delete_r, json!({"x": review})).await,
            "FORBIDDEN",
            "[{l}]"
        );
        net.ok(Some(&moderator), delete_r, json!({"x": review}))
            .await;
        let d = net
            .ok(
                None,
                "query($x: ID!) { review(id: $x) { id } }",
                json!({"x": review}),
            )
            .await;
        assert!(d["review"].is_null(), "[{l}] a deleted review still shows");
    }
}

#[tokio::test]
async fn fifty_concurrent_likes_count_fifty_and_a_double_like_counts_once() {
    for net in nets().await {
        let l = net.label;
        let author = net.user("author").await;
        let post = net.post(&author, "Like me").await;
        let mut fans = Vec::new();
        for i in 0..50 {
            fans.push(net.user(&format!("fan{i}")).await);
        }
        let net = Arc::new(net);
        let likes = fans.iter().map(|fan| {
            let (net, fan, post) = (net.clone(), *fan, post.clone());
            tokio::spawn(async move { net.ok(Some(&fan), LIKE_POST, json!({"p": post})).await })
        });
        for r in futures::future::join_all(likes).await {
            r.expect("a like task");
        }
        let count = |who: Option<Person>| {
            let (net, post) = (net.clone(), post.clone());
            async move {
                net.ok(
                    who.as_ref(),
                    "query($p: ID!) { post(id: $p) { likeCount likedByMe } }",
                    json!({"p": post}),
                )
                .await["post"]
                    .clone()
            }
        };
        assert_eq!(count(None).await["likeCount"], 50, "[{l}]");

        // Again, by the same fans at once: nothing changes.
        let again = fans.iter().take(10).map(|fan| {
            let (net, fan, post) = (net.clone(), *fan, post.clone());
            tokio::spawn(async move { net.ok(Some(&fan), LIKE_POST, json!({"p": post})).await })
        });
        for r in futures::future::join_all(again).await {
            let d = r.expect("a like task");
            assert_eq!(d["like"]["likedByMe"], true, "[{l}]");
        }
        let seen = count(Some(fans[0])).await;
        assert_eq!(seen["likeCount"], 50, "[{l}] double likes counted");
        assert_eq!(seen["likedByMe"], true, "[{l}]");
        assert_eq!(count(Some(author)).await["likedByMe"], false, "[{l}]");

        // Unlikes at once, twice each.
        let unlikes = fans
            .iter()
            .take(20)
            .flat_map(|fan| [*fan, *fan])
            .map(|fan| {
                let (net, post) = (net.clone(), post.clone());
                tokio::spawn(async move {
                    net.ok(
                        Some(&fan),
                        "mutation($p: ID!) { unlike(target: {postId: $p}) { likeCount } }",
                        json!({"p": post}),
                    )
                    .await
                })
            });
        for r in futures::future::join_all(unlikes).await {
            r.expect("an unlike task");
        }
        assert_eq!(count(None).await["likeCount"], 30, "[{l}]");

        // The like notification folds every liker into one.
        let d = net
            .ok(
                Some(&author),
                "{ notifications { edges { node { kind actorCount } } } }",
                json!({}),
            )
            .await;
        let edges = d["notifications"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 1, "[{l}] {d}");
        assert_eq!(edges[0]["node"]["kind"], "POST_LIKED", "[{l}]");
        assert_eq!(edges[0]["node"]["actorCount"], 50, "[{l}]");

        // Concurrent follows: exact counts.
        let follows = fans.iter().map(|fan| {
            let (net, fan, author) = (net.clone(), *fan, author);
            tokio::spawn(async move { net.follow(&fan, &author).await })
        });
        for r in futures::future::join_all(follows).await {
            r.expect("a follow task");
        }
        let d = net
            .ok(
                None,
                "query($u: ID!) { _entities(representations: [{__typename: \"User\", id: $u}]) { ... on User { followerCount followingCount } } }",
                json!({"u": author.id}),
            )
            .await;
        assert_eq!(d["_entities"][0]["followerCount"], 50, "[{l}]");
        assert_eq!(d["_entities"][0]["followingCount"], 0, "[{l}]");

        // Unfollows at once, twice each: exact again.
        let unfollows = fans.iter().take(20).flat_map(|f| [*f, *f]).map(|fan| {
            let (net, author) = (net.clone(), author);
            tokio::spawn(async move {
                net.ok(
                    Some(&fan),
                    "mutation($u: ID!) { unfollow(userId: $u) { id } }",
                    json!({"u": author.id}),
                )
                .await
            })
        });
        for r in futures::future::join_all(unfollows).await {
            r.expect("an unfollow task");
        }
        let d = net
            .ok(
                Some(&fans[0]),
                "query($u: ID!) { _entities(representations: [{__typename: \"User\", id: $u}]) { ... on User { followerCount followedByMe } } }",
                json!({"u": author.id}),
            )
            .await;
        assert_eq!(d["_entities"][0]["followerCount"], 30, "[{l}]");
        assert_eq!(d["_entities"][0]["followedByMe"], false, "[{l}]");

        // A follow of an id that is no account never shows in the list.
        net.ok(
            Some(&author),
            "mutation($u: ID!) { follow(userId: $u) { id } }",
            json!({"u": Uuid::now_v7()}),
        )
        .await;
        let d = net
            .ok(
                None,
                "query($u: ID!) { _entities(representations: [{__typename: \"User\", id: $u}]) { ... on User { following { edges { node { user { id } } } } } } }",
                json!({"u": author.id}),
            )
            .await;
        assert_eq!(
            d["_entities"][0]["following"]["edges"]
                .as_array()
                .map(Vec::len),
            Some(0),
            "[{l}] {d}"
        );
    }
}

#[tokio::test]
async fn blocked_users_cannot_follow_comment_like_or_message() {
    for net in nets().await {
        let l = net.label;
        let ann = net.user("ann").await;
        let troll = net.user("troll").await;
        let post = net.post(&ann, "Mine").await;
        net.follow(&troll, &ann).await;
        net.follow(&ann, &troll).await;
        net.ok(
            Some(&ann),
            "mutation($u: ID!) { blockUser(userId: $u) }",
            json!({"u": troll.id}),
        )
        .await;

        // The block ended both follows.
        let counts = net
            .ok(
                None,
                "query($u: ID!) { _entities(representations: [{__typename: \"User\", id: $u}]) { ... on User { followerCount followingCount } } }",
                json!({"u": ann.id}),
            )
            .await;
        assert_eq!(counts["_entities"][0]["followerCount"], 0, "[{l}]");
        assert_eq!(counts["_entities"][0]["followingCount"], 0, "[{l}]");

        let refused = [
            (
                "mutation($u: ID!) { follow(userId: $u) { id } }",
                json!({"u": ann.id}),
            ),
            (
                "mutation($p: ID!) { addComment(input: {postId: $p, body: \"hey\"}) { id } }",
                json!({"p": post}),
            ),
            (LIKE_POST, json!({"p": post})),
            (
                "mutation($u: ID!) { createChatRoom(memberIds: [$u]) { id } }",
                json!({"u": ann.id}),
            ),
        ];
        for (m, vars) in &refused {
            assert_eq!(
                net.code(Some(&troll), m, vars.clone()).await,
                "FORBIDDEN",
                "[{l}] the blocked user: {m}"
            );
        }
        // Nor the other way round.
        assert_eq!(
            net.code(
                Some(&ann),
                "mutation($u: ID!) { follow(userId: $u) { id } }",
                json!({"u": troll.id})
            )
            .await,
            "FORBIDDEN",
            "[{l}] the blocker follows"
        );
        // A room made before the block accepts no more messages from either.
        let cat = net.user("cat").await;
        let room = net
            .ok(
                Some(&cat),
                "mutation($a: ID!, $b: ID!) { createChatRoom(memberIds: [$a, $b], name: \"trio\") { id } }",
                json!({"a": ann.id, "b": Uuid::now_v7()}),
            )
            .await["createChatRoom"]["id"]
            .clone();
        net.ok(
            Some(&cat),
            "mutation($r: ID!) { sendChatMessage(roomId: $r, body: \"hello\") { id } }",
            json!({"r": room}),
        )
        .await;

        // Unblocking lifts it.
        net.ok(
            Some(&ann),
            "mutation($u: ID!) { unblockUser(userId: $u) }",
            json!({"u": troll.id}),
        )
        .await;
        net.follow(&troll, &ann).await;
        net.ok(Some(&troll), LIKE_POST, json!({"p": post})).await;
        assert_eq!(
            net.code(
                Some(&ann),
                "mutation($u: ID!) { follow(userId: $u) { id } }",
                json!({"u": ann.id})
            )
            .await,
            "BAD_USER_INPUT",
            "[{l}] following yourself"
        );
    }
}

#[tokio::test]
async fn notifications_group_per_kind_and_target_until_read() {
    for net in nets().await {
        let l = net.label;
        let ann = net.user("ann").await;
        let bob = net.user("bob").await;
        let cat = net.user("cat").await;
        let dan = net.user("dan").await;
        let post = net.post(&ann, "Hello").await;
        for who in [&bob, &cat, &dan] {
            net.ok(Some(who), LIKE_POST, json!({"p": post})).await;
        }
        net.follow(&bob, &ann).await;
        net.comment(&cat, &post, None).await;
        // Own doings notify nobody.
        net.ok(Some(&ann), LIKE_POST, json!({"p": post})).await;

        let list = "{ unreadNotificationCount notifications { edges { node { id kind actorCount summary read actors { id } post { id } } } } }";
        let d = net.ok(Some(&ann), list, json!({})).await;
        assert_eq!(d["unreadNotificationCount"], 3, "[{l}] {d}");
        let nodes: Vec<&Value> = d["notifications"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["node"])
            .collect();
        let liked = nodes
            .iter()
            .find(|n| n["kind"] == "POST_LIKED")
            .expect("a like notification");
        assert_eq!(liked["actorCount"], 3, "[{l}]");
        assert_eq!(
            liked["summary"], "dan and 2 others liked your post",
            "[{l}]"
        );
        assert_eq!(
            liked["actors"][0]["id"],
            dan.id.to_string(),
            "[{l}] newest first"
        );
        assert_eq!(liked["post"]["id"], post, "[{l}]");
        let followed = nodes.iter().find(|n| n["kind"] == "FOLLOWED").unwrap();
        assert_eq!(followed["summary"], "bob followed you", "[{l}]");
        // Newest activity first: the comment came last.
        assert_eq!(nodes[0]["kind"], "POST_COMMENTED", "[{l}]");

        // Read one; a new like after that starts a new group.
        let liked_id = liked["id"].clone();
        let d = net
            .ok(
                Some(&ann),
                "mutation($i: [ID!]) { markNotificationsRead(ids: $i) }",
                json!({"i": [liked_id]}),
            )
            .await;
        assert_eq!(d["markNotificationsRead"], 1, "[{l}]");
        let eve = net.user("eve").await;
        net.ok(Some(&eve), LIKE_POST, json!({"p": post})).await;
        let d = net
            .ok(
                Some(&ann),
                "{ notifications(unreadOnly: true) { edges { node { kind summary } } } }",
                json!({}),
            )
            .await;
        let unread = d["notifications"]["edges"].as_array().unwrap();
        assert_eq!(unread.len(), 3, "[{l}] {d}");
        assert!(
            unread
                .iter()
                .any(|e| e["node"]["summary"] == "eve liked your post"),
            "[{l}] {d}"
        );
        // Someone else cannot mark them read.
        let d = net
            .ok(
                Some(&bob),
                "mutation($i: [ID!]) { markNotificationsRead(ids: $i) }",
                json!({"i": [liked_id]}),
            )
            .await;
        assert_eq!(d["markNotificationsRead"], 0, "[{l}]");
        let d = net
            .ok(
                Some(&ann),
                "mutation { markNotificationsRead(all: true) }",
                json!({}),
            )
            .await;
        assert_eq!(d["markNotificationsRead"], 3, "[{l}]");
        let d = net
            .ok(Some(&ann), "{ unreadNotificationCount }", json!({}))
            .await;
        assert_eq!(d["unreadNotificationCount"], 0, "[{l}]");

        // Mentions, replies and reshares notify too.
        let d = net
            .ok(
                Some(&bob),
                "mutation($p: ID!) { addComment(input: {postId: $p, body: \"@Cat and @nobody_here look\"}) { id } }",
                json!({"p": post}),
            )
            .await;
        let bobs = d["addComment"]["id"].as_str().unwrap().to_string();
        net.comment(&dan, &post, Some(&bobs)).await;
        net.ok(
            Some(&eve),
            "mutation($p: ID!) { sharePost(postId: $p, comment: \"look\") { id } }",
            json!({"p": post}),
        )
        .await;
        let kinds = |who: Person| {
            let net = &net;
            async move {
                let d = net
                    .ok(
                        Some(&who),
                        "{ notifications(unreadOnly: true) { edges { node { kind } } } }",
                        json!({}),
                    )
                    .await;
                let mut k: Vec<String> = d["notifications"]["edges"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["node"]["kind"].as_str().unwrap().to_string())
                    .collect();
                k.sort();
                k
            }
        };
        assert_eq!(kinds(cat).await, vec!["MENTIONED"], "[{l}]");
        assert_eq!(kinds(bob).await, vec!["COMMENT_REPLIED"], "[{l}]");
        assert_eq!(
            kinds(ann).await,
            vec!["POST_COMMENTED", "POST_RESHARED"],
            "[{l}]"
        );
    }
}

#[tokio::test]
async fn threads_nest_to_a_cap_and_deleted_comments_keep_their_replies() {
    for net in nets().await {
        let l = net.label;
        let ann = net.user("ann").await;
        let bob = net.user("bob").await;
        let post = net.post(&ann, "Thread").await;
        let top = net.comment(&bob, &post, None).await;
        let mut parent = top.clone();
        for _ in 0..social::store::MAX_DEPTH {
            parent = net.comment(&ann, &post, Some(&parent)).await;
        }
        assert_eq!(
            net.code(
                Some(&bob),
                "mutation($p: ID!, $r: ID!) { addComment(input: {postId: $p, parentId: $r, body: \"deeper\"}) { id } }",
                json!({"p": post, "r": parent}),
            )
            .await,
            "BAD_USER_INPUT",
            "[{l}] past the depth cap"
        );
        // A parent from another post is not found.
        let other = net.post(&ann, "Elsewhere").await;
        assert_eq!(
            net.code(
                Some(&bob),
                "mutation($p: ID!, $r: ID!) { addComment(input: {postId: $p, parentId: $r, body: \"x\"}) { id } }",
                json!({"p": other, "r": top}),
            )
            .await,
            "NOT_FOUND",
            "[{l}]"
        );
        assert_eq!(
            net.code(
                Some(&bob),
                "mutation($p: ID!, $r: ID!) { addComment(input: {postId: $p, reviewId: $r, body: \"x\"}) { id } }",
                json!({"p": post, "r": Uuid::now_v7()}),
            )
            .await,
            "BAD_USER_INPUT",
            "[{l}] both a post and a review"
        );
        net.comment(&bob, &post, Some(&top)).await;
        net.ok(
            Some(&bob),
            "mutation($x: ID!) { deleteComment(id: $x) { id } }",
            json!({"x": top}),
        )
        .await;
        let d = net
            .ok(
                None,
                "query($p: ID!) { post(id: $p) { commentCount comments { edges { node { deleted body author { id } depth replyCount replies(first: 1) { pageInfo { hasNextPage } edges { node { depth body replies { edges { node { depth } } } } } } } } } } }",
                json!({"p": post}),
            )
            .await;
        let p = &d["post"];
        assert_eq!(p["commentCount"], 10, "[{l}] {d}");
        let node = &p["comments"]["edges"][0]["node"];
        assert_eq!(node["deleted"], true, "[{l}]");
        assert!(node["body"].is_null() && node["author"].is_null(), "[{l}]");
        assert_eq!(node["depth"], 0, "[{l}]");
        assert_eq!(node["replyCount"], 2, "[{l}]");
        assert_eq!(
            node["replies"]["pageInfo"]["hasNextPage"], true,
            "[{l}] replies are paged"
        );
        let reply = &node["replies"]["edges"][0]["node"];
        assert_eq!(reply["depth"], 1, "[{l}]");
        assert_eq!(reply["replies"]["edges"][0]["node"]["depth"], 2, "[{l}]");
        // The top-level list pages with cursors.
        let d = net
            .ok(
                None,
                "query($p: ID!) { comments(postId: $p, first: 1) { edges { cursor } pageInfo { hasNextPage } } }",
                json!({"p": post}),
            )
            .await;
        assert_eq!(d["comments"]["pageInfo"]["hasNextPage"], false, "[{l}]");
        assert_eq!(
            net.code(
                None,
                "query($p: ID!) { comments(postId: $p, first: 1000) { edges { cursor } } }",
                json!({"p": post})
            )
            .await,
            "BAD_USER_INPUT",
            "[{l}] lists are bounded"
        );
    }
}

#[tokio::test]
async fn reviews_are_one_per_user_and_sort_four_ways() {
    for net in nets().await {
        let l = net.label;
        let title = Uuid::now_v7().to_string();
        let write = "mutation($t: ID!, $s: Int, $b: String!) { writeReview(input: {titleId: $t, body: $b, score: $s, containsSpoilers: false}) { id score } }";
        let mut ids = Vec::new();
        let mut people = Vec::new();
        for (i, score) in [6, 9, 3].into_iter().enumerate() {
            let p = net.user(&format!("critic{i}")).await;
            let d = net
                .ok(
                    Some(&p),
                    write,
                    json!({"t": title, "s": score, "b": format!("Review {i}")}),
                )
                .await;
            ids.push(d["writeReview"]["id"].as_str().unwrap().to_string());
            people.push(p);
        }
        assert_eq!(
            net.code(
                Some(&people[0]),
                write,
                json!({"t": title, "s": 5, "b": "Again"})
            )
            .await,
            "CONFLICT",
            "[{l}] a second review"
        );
        for bad in [0, 11] {
            assert_eq!(
                net.code(
                    Some(&people[0]),
                    write,
                    json!({"t": Uuid::now_v7(), "s": bad, "b": "x"})
                )
                .await,
                "BAD_USER_INPUT",
                "[{l}] score {bad}"
            );
        }
        // The second review gets the most likes.
        for p in &people {
            net.ok(
                Some(p),
                "mutation($r: ID!) { like(target: {reviewId: $r}) { likeCount } }",
                json!({"r": ids[1]}),
            )
            .await;
        }
        net.ok(
            Some(&people[1]),
            "mutation($r: ID!) { like(target: {reviewId: $r}) { likeCount } }",
            json!({"r": ids[2]}),
        )
        .await;
        let order = |sort: &'static str| {
            let (net, title) = (&net, title.clone());
            async move {
                let d = net
                    .ok(
                        None,
                        "query($t: ID!, $s: ReviewSort) { reviews(titleId: $t, sort: $s) { edges { node { id } } } }",
                        json!({"t": title, "s": sort}),
                    )
                    .await;
                d["reviews"]["edges"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["node"]["id"].as_str().unwrap().to_string())
                    .collect::<Vec<_>>()
            }
        };
        let id = |i: usize| ids[i].clone();
        assert_eq!(order("NEWEST").await, vec![id(2), id(1), id(0)], "[{l}]");
        assert_eq!(order("HIGHEST").await, vec![id(1), id(0), id(2)], "[{l}]");
        assert_eq!(order("LOWEST").await, vec![id(2), id(0), id(1)], "[{l}]");
        assert_eq!(order("TOP").await, vec![id(1), id(2), id(0)], "[{l}]");

        // Paging through a sorted list sees each review once.
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let d = net
                .ok(
                    None,
                    "query($t: ID!, $a: String) { reviews(titleId: $t, sort: HIGHEST, first: 1, after: $a) { edges { cursor node { id } } pageInfo { hasNextPage } } }",
                    json!({"t": title, "a": after}),
                )
                .await;
            let edge = &d["reviews"]["edges"][0];
            seen.push(edge["node"]["id"].as_str().unwrap().to_string());
            after = edge["cursor"].as_str().map(str::to_string);
            if d["reviews"]["pageInfo"]["hasNextPage"] != true {
                break;
            }
        }
        assert_eq!(seen, order("HIGHEST").await, "[{l}]");

        // The title's figures for the caller and everyone.
        let d = net
            .ok(
                Some(&people[1]),
                "query($t: ID!) { _entities(representations: [{__typename: \"Movie\", id: $t}]) { ... on Movie { myRating inWatchlist ratingHistogram { score count } reviews(first: 2) { pageInfo { hasNextPage } } } } }",
                json!({"t": title}),
            )
            .await;
        let m = &d["_entities"][0];
        assert_eq!(m["myRating"], 9, "[{l}]");
        assert_eq!(m["inWatchlist"], false, "[{l}]");
        assert_eq!(m["reviews"]["pageInfo"]["hasNextPage"], true, "[{l}]");
        let buckets: Vec<(i64, i64)> = m["ratingHistogram"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| (b["score"].as_i64().unwrap(), b["count"].as_i64().unwrap()))
            .filter(|(_, c)| *c > 0)
            .collect();
        assert_eq!(buckets, vec![(3, 1), (6, 1), (9, 1)], "[{l}]");

        // Reviews without a score, written at once by many: none fails.
        let title2 = Uuid::now_v7().to_string();
        let net = Arc::new(net);
        let mut writers = Vec::new();
        for i in 0..20 {
            writers.push(net.user(&format!("quiet{i}")).await);
        }
        let writes = writers.iter().map(|w| {
            let (net, w, t) = (net.clone(), *w, title2.clone());
            tokio::spawn(async move {
                net.ok(
                    Some(&w),
                    "mutation($t: ID!) { writeReview(input: {titleId: $t, body: \"No score\"}) { id } }",
                    json!({"t": t}),
                )
                .await
            })
        });
        for r in futures::future::join_all(writes).await {
            r.expect("a review task");
        }

        // After a delete, the same user may write again.
        net.ok(
            Some(&people[0]),
            "mutation($x: ID!) { deleteReview(id: $x) }",
            json!({"x": ids[0]}),
        )
        .await;
        net.ok(
            Some(&people[0]),
            write,
            json!({"t": title, "s": 4, "b": "Second thoughts"}),
        )
        .await;
    }
}

#[tokio::test]
async fn ratings_publish_the_titles_new_aggregate_with_a_growing_version() {
    for net in nets().await {
        let l = net.label;
        let bus = net.backend.bus();
        let prefix = net.social.services.config.bus.subject_prefix.clone();
        let mut events = bus
            .subscribe(&format!("{prefix}.social.rating_changed"))
            .await
            .expect("a bus subscription");
        net.social.services.spawn_relay();
        let title = Uuid::now_v7().to_string();
        let ann = net.user("ann").await;
        let bob = net.user("bob").await;
        let rate = "mutation($t: ID!, $s: Int!) { rateTitle(titleId: $t, score: $s) { score } }";
        net.ok(Some(&ann), rate, json!({"t": title, "s": 8})).await;
        net.ok(Some(&bob), rate, json!({"t": title, "s": 4})).await;
        net.ok(Some(&ann), rate, json!({"t": title, "s": 10})).await;
        net.ok(
            Some(&bob),
            "mutation($t: ID!) { removeRating(titleId: $t) }",
            json!({"t": title}),
        )
        .await;
        assert_eq!(
            net.code(Some(&ann), rate, json!({"t": title, "s": 11}))
                .await,
            "BAD_USER_INPUT",
            "[{l}]"
        );
        let mut seen = Vec::new();
        while seen.len() < 4 {
            let e = tokio::time::timeout(Duration::from_secs(10), events.next())
                .await
                .unwrap_or_else(|_| panic!("[{l}] only {} rating events arrived", seen.len()))
                .expect("the subscription stays open");
            if e.payload["titleId"] == title {
                seen.push(e.payload);
            }
        }
        let figures: Vec<(i64, i64, i64)> = seen
            .iter()
            .map(|p| {
                (
                    p["ratingSum"].as_i64().unwrap(),
                    p["ratingCount"].as_i64().unwrap(),
                    p["version"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            figures,
            vec![(8, 1, 1), (12, 2, 2), (14, 2, 3), (10, 1, 4)],
            "[{l}]"
        );
        assert_eq!(seen[3]["ratingAverage"], 10.0, "[{l}]");
        // The rater's own list.
        let d = net
            .ok(
                Some(&bob),
                "query($u: ID!) { _entities(representations: [{__typename: \"User\", id: $u}]) { ... on User { ratings { edges { node { score titleId } } } } } }",
                json!({"u": ann.id}),
            )
            .await;
        let ratings = &d["_entities"][0]["ratings"]["edges"];
        assert_eq!(ratings[0]["node"]["score"], 10, "[{l}] {d}");
    }
}

#[tokio::test]
async fn private_profiles_show_their_lists_to_followers_only() {
    for net in nets().await {
        let l = net.label;
        let ann = net.user("ann").await;
        let friend = net.user("friend").await;
        let stranger = net.user("stranger").await;
        let moderator = net.person("mod", Role::Moderator).await;
        let title = Uuid::now_v7().to_string();
        let d = net
            .ok(
                Some(&ann),
                "mutation($t: ID!) { a: addToWatchlist(titleId: $t) b: addToWatchlist(titleId: $t) }",
                json!({"t": title}),
            )
            .await;
        assert_eq!(d["a"], true, "[{l}]");
        assert_eq!(d["b"], false, "[{l}] adding twice changes nothing");
        net.post(&ann, "A post").await;
        net.follow(&friend, &ann).await;
        net.ok(
            Some(&ann),
            "mutation { setProfilePrivate(private: true) }",
            json!({}),
        )
        .await;

        let lists = "query($u: ID!) { watchlist(userId: $u) { edges { node { titleId } } } }";
        let entity = "query($u: ID!) { _entities(representations: [{__typename: \"User\", id: $u}]) { ... on User { profilePrivate posts { edges { cursor } } followers { edges { node { user { id } } } } } } }";
        for (who, allowed) in [
            (Some(&ann), true),
            (Some(&friend), true),
            (Some(&moderator), true),
            (Some(&stranger), false),
            (None, false),
        ] {
            let r = net.run(who, lists, json!({"u": ann.id})).await;
            if allowed {
                assert!(r.get("errors").is_none(), "[{l}] {who:?}: {r}");
                assert_eq!(
                    r["data"]["watchlist"]["edges"][0]["node"]["titleId"], title,
                    "[{l}]"
                );
            } else {
                assert_eq!(
                    r["errors"][0]["extensions"]["code"], "FORBIDDEN",
                    "[{l}] {who:?}: {r}"
                );
            }
            let r = net.run(who, entity, json!({"u": ann.id})).await;
            let user = &r["data"]["_entities"][0];
            assert_eq!(user["profilePrivate"], true, "[{l}]");
            assert_eq!(
                user["posts"].is_object(),
                allowed,
                "[{l}] {who:?} sees the posts list: {r}"
            );
        }
        // markWatched moves the title off the watchlist into the history.
        net.ok(
            Some(&ann),
            "mutation($t: ID!) { markWatched(titleId: $t, watchedAt: \"2024-05-01T20:00:00Z\") { watchedAt } }",
            json!({"t": title}),
        )
        .await;
        let d = net
            .ok(
                Some(&ann),
                "{ watchlist { edges { cursor } } watchHistory { edges { node { titleId watchedAt } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            d["watchlist"]["edges"].as_array().unwrap().len(),
            0,
            "[{l}]"
        );
        assert_eq!(
            d["watchHistory"]["edges"][0]["node"]["titleId"], title,
            "[{l}]"
        );
        let again = "mutation($t: ID!) { addToWatchlist(titleId: $t) }";
        net.ok(Some(&ann), again, json!({"t": title})).await;
        let remove = "mutation($t: ID!) { removeFromWatchlist(titleId: $t) }";
        let d = net.ok(Some(&ann), remove, json!({"t": title})).await;
        assert_eq!(d["removeFromWatchlist"], true, "[{l}]");
        let d = net.ok(Some(&ann), remove, json!({"t": title})).await;
        assert_eq!(d["removeFromWatchlist"], false, "[{l}] removing twice");
        // Public again.
        net.ok(
            Some(&ann),
            "mutation { setProfilePrivate(private: false) }",
            json!({}),
        )
        .await;
        net.ok(
            None,
            "query($u: ID!) { watchHistory(userId: $u) { edges { cursor } } }",
            json!({"u": ann.id}),
        )
        .await;
    }
}

#[tokio::test]
async fn only_members_read_or_write_a_chat_room() {
    for net in nets().await {
        let l = net.label;
        let ann = net.user("ann").await;
        let bob = net.user("bob").await;
        let eve = net.user("eve").await;
        let create = "mutation($m: [ID!]!, $n: String) { createChatRoom(memberIds: $m, name: $n) { id isDirect name members { id } } }";
        let d = net.ok(Some(&ann), create, json!({"m": [bob.id]})).await;
        let room = d["createChatRoom"]["id"].as_str().unwrap().to_string();
        assert_eq!(d["createChatRoom"]["isDirect"], true, "[{l}]");
        assert_eq!(
            d["createChatRoom"]["members"].as_array().unwrap().len(),
            2,
            "[{l}]"
        );
        // The pair's one direct room, whoever opens it.
        let again = net.ok(Some(&bob), create, json!({"m": [ann.id]})).await;
        assert_eq!(again["createChatRoom"]["id"], room, "[{l}]");
        assert_eq!(
            net.code(Some(&ann), create, json!({"m": [ann.id]})).await,
            "BAD_USER_INPUT",
            "[{l}] a room with only yourself"
        );

        let send = "mutation($r: ID!, $b: String!) { sendChatMessage(roomId: $r, body: $b) { id body author { id } } }";
        for (who, body) in [(&ann, "hi bob"), (&bob, "hi ann"), (&ann, "how are you?")] {
            net.ok(Some(who), send, json!({"r": room, "b": body})).await;
        }
        assert_eq!(
            net.code(Some(&eve), send, json!({"r": room, "b": "let me in"}))
                .await,
            "FORBIDDEN",
            "[{l}] a non-member writes"
        );
        let read = "query($r: ID!) { chatMessages(roomId: $r, first: 2) { edges { cursor node { body } } pageInfo { hasNextPage } } }";
        assert_eq!(
            net.code(Some(&eve), read, json!({"r": room})).await,
            "FORBIDDEN",
            "[{l}] a non-member reads"
        );
        let d = net.ok(Some(&bob), read, json!({"r": room})).await;
        let edges = d["chatMessages"]["edges"].as_array().unwrap();
        assert_eq!(
            edges[0]["node"]["body"], "how are you?",
            "[{l}] newest first"
        );
        assert_eq!(d["chatMessages"]["pageInfo"]["hasNextPage"], true, "[{l}]");
        let before = edges[1]["cursor"].clone();
        let d = net
            .ok(
                Some(&bob),
                "query($r: ID!, $b: String) { chatMessages(roomId: $r, before: $b) { edges { node { body } } } }",
                json!({"r": room, "b": before}),
            )
            .await;
        assert_eq!(
            d["chatMessages"]["edges"][0]["node"]["body"], "hi bob",
            "[{l}]"
        );

        // Unread counts and marking read.
        let rooms = "{ chatRooms { edges { node { id unreadCount lastMessage { body } } } } }";
        let d = net.ok(Some(&bob), rooms, json!({})).await;
        let mine = &d["chatRooms"]["edges"][0]["node"];
        // Writing in a room reads what came before: one unread since bob's reply.
        assert_eq!(mine["unreadCount"], 1, "[{l}] {d}");
        assert_eq!(mine["lastMessage"]["body"], "how are you?", "[{l}]");
        net.ok(
            Some(&bob),
            "mutation($r: ID!) { markRoomRead(roomId: $r) { unreadCount } }",
            json!({"r": room}),
        )
        .await;
        let d = net.ok(Some(&bob), rooms, json!({})).await;
        assert_eq!(
            d["chatRooms"]["edges"][0]["node"]["unreadCount"], 0,
            "[{l}]"
        );
        let d = net.ok(Some(&eve), rooms, json!({})).await;
        assert_eq!(
            d["chatRooms"]["edges"].as_array().unwrap().len(),
            0,
            "[{l}]"
        );
        assert_eq!(
            net.code(
                Some(&eve),
                "query($r: ID!) { chatRoom(id: $r) { id } }",
                json!({"r": room})
            )
            .await,
            "FORBIDDEN",
            "[{l}]"
        );

        // A group room with a name; members bounded.
        let d = net
            .ok(
                Some(&ann),
                create,
                json!({"m": [bob.id, eve.id], "n": "Film club"}),
            )
            .await;
        assert_eq!(d["createChatRoom"]["isDirect"], false, "[{l}]");
        assert_eq!(d["createChatRoom"]["name"], "Film club", "[{l}]");
        let crowd: Vec<Uuid> = (0..social::store::MAX_ROOM_MEMBERS)
            .map(|_| Uuid::now_v7())
            .collect();
        assert_eq!(
            net.code(Some(&ann), create, json!({"m": crowd, "n": "Too many"}))
                .await,
            "BAD_USER_INPUT",
            "[{l}]"
        );
    }
}

#[tokio::test]
async fn bodies_are_plain_text_within_their_length() {
    for net in nets().await {
        let l = net.label;
        let ann = net.user("ann").await;
        let create = "mutation($b: String!) { createPost(input: {body: $b}) { body } }";
        for bad in [
            "".to_string(),
            "   \n ".to_string(),
            "<script>alert(1)</script>".to_string(),
            "hello <b>world</b>".to_string(),
            "x".repeat(social::store::text::POST_MAX + 1),
        ] {
            let r = net.run(Some(&ann), create, json!({"b": bad})).await;
            assert_eq!(
                r["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                "[{l}] {:.40}: {r}",
                bad
            );
            let message = r["errors"][0]["message"].as_str().unwrap_or("");
            assert!(!message.to_lowercase().contains("sql"), "[{l}] {message}");
        }
        let d = net
            .ok(
                Some(&ann),
                create,
                json!({"b": "  2 < 3 and\u{0007} tabs\tstay\r\nnewlines too \u{200B}"}),
            )
            .await;
        assert_eq!(
            d["createPost"]["body"], "2 < 3 and tabs\tstay\nnewlines too \u{200B}",
            "[{l}] control characters go, the rest stays"
        );
        let exactly = "y".repeat(social::store::text::POST_MAX);
        net.ok(Some(&ann), create, json!({"b": exactly})).await;
        assert_eq!(
            net.code(
                Some(&ann),
                "mutation { editPost(id: \"not-a-uuid\", body: \"x\") { id } }",
                json!({})
            )
            .await,
            "BAD_USER_INPUT",
            "[{l}] a malformed id"
        );
        assert_eq!(
            net.code(
                Some(&ann),
                "mutation($x: ID!) { editPost(id: $x, body: \"x\") { id } }",
                json!({"x": Uuid::now_v7()})
            )
            .await,
            "NOT_FOUND",
            "[{l}] a missing post"
        );
        assert_eq!(
            net.code(
                Some(&ann),
                "mutation { like(target: {}) { likeCount } }",
                json!({})
            )
            .await,
            "BAD_USER_INPUT",
            "[{l}] a like of nothing"
        );
    }
}

#[tokio::test]
async fn the_feed_shows_followees_and_reshares_newest_first() {
    for net in nets().await {
        let l = net.label;
        let ann = net.user("ann").await;
        let bob = net.user("bob").await;
        let cat = net.user("cat").await;
        net.follow(&ann, &bob).await;
        let bobs = net.post(&bob, "bob 1").await;
        net.post(&cat, "cat, unfollowed").await;
        net.post(&ann, "ann 1").await;
        let d = net
            .ok(
                Some(&cat),
                "mutation($p: ID!) { sharePost(postId: $p, comment: \"via cat\") { id isReshare } }",
                json!({"p": bobs}),
            )
            .await;
        assert_eq!(d["sharePost"]["isReshare"], true, "[{l}]");
        let reshare = d["sharePost"]["id"].as_str().unwrap().to_string();
        // Resharing a reshare reshares the original.
        let d = net
            .ok(
                Some(&bob),
                "mutation($p: ID!) { sharePost(postId: $p) { resharedPost { id } } }",
                json!({"p": reshare}),
            )
            .await;
        assert_eq!(d["sharePost"]["resharedPost"]["id"], bobs, "[{l}]");

        let d = net
            .ok(
                Some(&ann),
                "{ feed(first: 10) { edges { node { body author { id } isReshare resharedPost { body shareCount } } } } }",
                json!({}),
            )
            .await;
        let bodies: Vec<&str> = d["feed"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["body"].as_str().unwrap())
            .collect();
        assert_eq!(bodies, vec!["", "ann 1", "bob 1"], "[{l}] {d}");
        let top = &d["feed"]["edges"][0]["node"];
        assert_eq!(top["isReshare"], true, "[{l}]");
        assert_eq!(top["resharedPost"]["shareCount"], 2, "[{l}]");

        // userPosts pages with cursors and ends.
        let mut after: Option<String> = None;
        let mut n = 0;
        loop {
            let d = net
                .ok(
                    None,
                    "query($u: ID!, $a: String) { userPosts(userId: $u, first: 1, after: $a) { edges { cursor } pageInfo { hasNextPage endCursor } } }",
                    json!({"u": bob.id, "a": after}),
                )
                .await;
            n += d["userPosts"]["edges"].as_array().unwrap().len();
            if d["userPosts"]["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = d["userPosts"]["pageInfo"]["endCursor"]
                .as_str()
                .map(str::to_string);
        }
        assert_eq!(n, 2, "[{l}] bob's post and his reshare");
    }
}

#[tokio::test]
async fn a_feed_page_of_50_posts_with_comments_costs_a_constant_number_of_statements() {
    for net in nets().await {
        let l = net.label;
        let reader = net.user("reader").await;
        let mut writers = Vec::new();
        for i in 0..10 {
            let w = net.user(&format!("writer{i}")).await;
            net.follow(&reader, &w).await;
            writers.push(w);
        }
        for i in 0..60 {
            let w = &writers[i % writers.len()];
            let post = net.post(w, &format!("post {i}")).await;
            let c = net
                .comment(&writers[(i + 1) % writers.len()], &post, None)
                .await;
            net.comment(w, &post, Some(&c)).await;
            if i % 3 == 0 {
                net.ok(Some(&reader), LIKE_POST, json!({"p": post})).await;
            }
        }
        let statements = Arc::new(AtomicUsize::new(0));
        let mut services = net.social.services.clone();
        let counter = statements.clone();
        services.db.set_metric_callback(move |m| {
            counter.fetch_add(1, Ordering::SeqCst);
            if std::env::var("SHOW_SQL").is_ok() {
                eprintln!("SQL {}", &m.statement.sql[..m.statement.sql.len().min(150)]);
            }
        });
        let counted = Net {
            label: net.label,
            social: social::store::Social::new(services.clone()),
            schema: social::graphql::build(social::store::Social::new(services)),
            backend: net.backend,
        };
        let mut costs = Vec::new();
        for n in [5, 50] {
            statements.store(0, Ordering::SeqCst);
            let d = counted
                .ok(
                    Some(&reader),
                    &format!("{{ feed(first: {n}) {{ edges {{ node {{ body author {{ id followerCount followedByMe }} likeCount likedByMe commentCount comments(first: 5) {{ edges {{ node {{ body author {{ id }} likedByMe replyCount replies(first: 5) {{ edges {{ node {{ body likedByMe }} }} }} }} }} }} }} }} }} }}"),
                    json!({}),
                )
                .await;
            let edges = d["feed"]["edges"].as_array().unwrap();
            assert_eq!(edges.len(), n, "[{l}]");
            assert!(
                edges.iter().all(
                    |e| e["node"]["comments"]["edges"][0]["node"]["replies"]["edges"]
                        .as_array()
                        .is_some_and(|r| r.len() == 1)
                ),
                "[{l}] every post has its comment and reply"
            );
            assert!(
                edges.iter().any(|e| e["node"]["likedByMe"] == true),
                "[{l}]"
            );
            costs.push(statements.load(Ordering::SeqCst));
        }
        assert_eq!(
            costs[0], costs[1],
            "[{l}] statements grow with the page: {costs:?}"
        );
        assert!(costs[1] <= 12, "[{l}] {} statements for 50 posts", costs[1]);
    }
}

#[tokio::test]
async fn a_deleted_account_leaves_no_activity_behind() {
    for net in nets().await {
        let l = net.label;
        let ann = net.user("ann").await;
        let gone = net.user("gone").await;
        let post = net.post(&ann, "Still here").await;
        let own = net.post(&gone, "Mine").await;
        net.ok(Some(&gone), LIKE_POST, json!({"p": post})).await;
        net.comment(&gone, &post, None).await;
        net.follow(&gone, &ann).await;
        let title = Uuid::now_v7().to_string();
        net.ok(
            Some(&gone),
            "mutation($t: ID!) { rateTitle(titleId: $t, score: 9) { score } }",
            json!({"t": title}),
        )
        .await;

        // As the users subgraph's event would.
        let event = kit::events::Event::new(
            &net.social.services.config.bus.subject_prefix,
            "users.user_deleted",
            None,
            json!({"userId": gone.id}),
        );
        let handler = social::UserEvents(net.social.clone());
        let txn = sea_orm::TransactionTrait::begin(&net.social.services.db)
            .await
            .unwrap();
        kit::events::Handler::handle(&handler, &event, &txn)
            .await
            .expect("the deletion applies");
        txn.commit().await.unwrap();

        let d = net
            .ok(
                Some(&ann),
                "query($p: ID!, $o: ID!, $u: ID!) { post(id: $p) { likeCount commentCount comments { edges { node { deleted author { id } } } } } own: post(id: $o) { id } _entities(representations: [{__typename: \"User\", id: $u}]) { ... on User { followerCount } } }",
                json!({"p": post, "o": own, "u": ann.id}),
            )
            .await;
        assert_eq!(d["post"]["likeCount"], 0, "[{l}] {d}");
        assert!(d["own"].is_null(), "[{l}] the account's posts go");
        assert_eq!(d["_entities"][0]["followerCount"], 0, "[{l}]");
        let comments = d["post"]["comments"]["edges"].as_array().unwrap();
        assert!(
            comments
                .iter()
                .all(|c| c["node"]["author"].is_null() && c["node"]["deleted"] == true),
            "[{l}] {d}"
        );
        let d = net
            .ok(
                None,
                "query($t: ID!) { _entities(representations: [{__typename: \"Movie\", id: $t}]) { ... on Movie { ratingHistogram { score count } } } }",
                json!({"t": title}),
            )
            .await;
        assert!(
            d["_entities"][0]["ratingHistogram"]
                .as_array()
                .unwrap()
                .iter()
                .all(|b| b["count"] == 0),
            "[{l}] the account's ratings go: {d}"
        );
    }
}

#[tokio::test]
async fn a_private_accounts_lists_stay_closed_to_a_follower_until_the_request_is_approved() {
    let follow = "mutation($u: ID!) { follow(userId: $u) { followStatus } }";
    let as_entity = |fields: &str| {
        format!("query($u: ID!) {{ _entities(representations: [{{__typename: \"User\", id: $u}}]) {{ ... on User {{ {fields} }} }} }}")
    };
    for net in nets().await {
        let l = net.label;
        let ann = net.user("ann").await;
        let bob = net.user("bob").await;
        let cat = net.user("cat").await;
        net.ok(
            Some(&ann),
            "mutation { setProfilePrivate(private: true) }",
            json!({}),
        )
        .await;
        let d = net.ok(Some(&bob), follow, json!({"u": ann.id})).await;
        assert_eq!(d["follow"]["followStatus"], "REQUESTED", "[{l}] {d}");
        let followers = as_entity("followers { edges { node { user { id } } } }");
        let r = net.run(Some(&bob), &followers, json!({"u": ann.id})).await;
        assert_eq!(
            r["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "[{l}] a requester is no follower: {r}"
        );
        let d = net
            .ok(
                Some(&bob),
                &as_entity("followStatus followedByMe"),
                json!({"u": ann.id}),
            )
            .await;
        assert_eq!(d["_entities"][0]["followStatus"], "REQUESTED", "[{l}]");
        assert_eq!(d["_entities"][0]["followedByMe"], false, "[{l}]");
        let d = net
            .ok(None, &as_entity("followStatus"), json!({"u": ann.id}))
            .await;
        assert!(
            d["_entities"][0]["followStatus"].is_null(),
            "[{l}] signed out"
        );

        // A second asker withdraws; the owner sees the one left, and was told.
        net.ok(Some(&cat), follow, json!({"u": ann.id})).await;
        let d = net
            .ok(
                Some(&cat),
                "mutation($u: ID!) { cancelFollowRequest(userId: $u) { followStatus } }",
                json!({"u": ann.id}),
            )
            .await;
        assert_eq!(d["cancelFollowRequest"]["followStatus"], "NONE", "[{l}]");
        let d = net
            .ok(
                Some(&ann),
                "{ followRequests { edges { node { user { id } } } } notifications { edges { node { kind } } } }",
                json!({}),
            )
            .await;
        let requests = d["followRequests"]["edges"].as_array().unwrap();
        assert_eq!(requests.len(), 1, "[{l}] {d}");
        assert_eq!(requests[0]["node"]["user"]["id"], bob.id.to_string());
        assert!(
            d["notifications"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["node"]["kind"] == "FOLLOW_REQUESTED"),
            "[{l}] {d}"
        );
        // Only the owner approves, and a request approves once.
        let approve = "mutation($u: ID!) { approveFollowRequest(userId: $u) { id } }";
        assert_eq!(
            net.code(Some(&cat), approve, json!({"u": bob.id})).await,
            "NOT_FOUND",
            "[{l}]"
        );
        net.ok(Some(&ann), approve, json!({"u": bob.id})).await;
        assert_eq!(
            net.code(Some(&ann), approve, json!({"u": bob.id})).await,
            "NOT_FOUND",
            "[{l}]"
        );
        let r = net.run(Some(&bob), &followers, json!({"u": ann.id})).await;
        assert!(r.get("errors").is_none(), "[{l}] approved: {r}");
        assert_eq!(
            r["data"]["_entities"][0]["followers"]["edges"][0]["node"]["user"]["id"],
            bob.id.to_string()
        );
        // A declined request leaves the lists closed; going public approves the rest.
        net.ok(Some(&cat), follow, json!({"u": ann.id})).await;
        net.ok(
            Some(&ann),
            "mutation($u: ID!) { declineFollowRequest(userId: $u) { id } }",
            json!({"u": cat.id}),
        )
        .await;
        let d = net
            .ok(Some(&cat), &as_entity("followStatus"), json!({"u": ann.id}))
            .await;
        assert_eq!(d["_entities"][0]["followStatus"], "NONE", "[{l}]");
        net.ok(Some(&cat), follow, json!({"u": ann.id})).await;
        net.ok(
            Some(&ann),
            "mutation { setProfilePrivate(private: false) }",
            json!({}),
        )
        .await;
        let d = net
            .ok(Some(&cat), &as_entity("followStatus"), json!({"u": ann.id}))
            .await;
        assert_eq!(d["_entities"][0]["followStatus"], "FOLLOWING", "[{l}]");
    }
}

#[tokio::test]
async fn a_block_hides_posts_and_comments_both_ways() {
    for net in nets().await {
        let l = net.label;
        let ann = net.user("ann").await;
        let troll = net.user("troll").await;
        let post = net.post(&ann, "Hello").await;
        let comment = net.comment(&troll, &post, None).await;
        let troll_post = net.post(&troll, "Mine").await;
        net.ok(
            Some(&ann),
            "mutation($u: ID!) { blockUser(userId: $u) }",
            json!({"u": troll.id}),
        )
        .await;
        let read_post = "query($p: ID!) { post(id: $p) { id } }";
        for (who, p) in [(&troll, &post), (&ann, &troll_post)] {
            let d = net.ok(Some(who), read_post, json!({"p": p})).await;
            assert!(d["post"].is_null(), "[{l}] {d}");
        }
        let d = net.ok(None, read_post, json!({"p": post})).await;
        assert_eq!(d["post"]["id"], post, "[{l}] others still see it");
        let thread = "query($p: ID!) { comments(postId: $p) { edges { node { id } } } }";
        let d = net.ok(Some(&ann), thread, json!({"p": post})).await;
        assert_eq!(
            d["comments"]["edges"].as_array().unwrap().len(),
            0,
            "[{l}] {d}"
        );
        let d = net.ok(None, thread, json!({"p": post})).await;
        assert_eq!(d["comments"]["edges"][0]["node"]["id"], comment, "[{l}]");
        // The entity a live `commentAdded` resolves is null for the blocker.
        let entity = "query($c: ID!) { _entities(representations: [{__typename: \"Comment\", id: $c}]) { ... on Comment { id } } }";
        let d = net.ok(Some(&ann), entity, json!({"c": comment})).await;
        assert!(d["_entities"][0].is_null(), "[{l}] {d}");
    }
}
