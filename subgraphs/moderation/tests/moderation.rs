//! The moderation subgraph on every backend of this run (SQLite with the
//! in-process bus, and PostgreSQL with Redis and NATS when their URLs are
//! set), driven through its own GraphQL schema, with other subgraphs' events
//! handed to its consumer as the bus would hand them.

use async_graphql::{Request, Variables};
use kit::auth::{Claims, Role, Viewer};
use kit::events::outbox::entity as outbox;
use kit::events::{process_once, Event};
use kit::testing::TestBackend;
use moderation::events::Incoming;
use moderation::graphql::{self as schema, ModerationSchema};
use moderation::store::Moderation;
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{json, Value};
use std::sync::Arc;
use uuid::Uuid;

#[derive(Clone, Copy, Debug)]
struct Person {
    id: Uuid,
    role: Role,
}

impl Person {
    fn new(role: Role) -> Self {
        Self {
            id: Uuid::now_v7(),
            role,
        }
    }

    fn claims(&self) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: self.id.to_string(),
            role: self.role,
            scopes: Vec::new(),
            sid: Uuid::new_v4().to_string(),
            iss: "marquee".into(),
            aud: "marquee".into(),
            exp: now + 900,
            iat: now,
            nbf: None,
            jti: Uuid::new_v4().to_string(),
        }
    }
}

struct Net {
    label: &'static str,
    moderation: Arc<Moderation>,
    schema: ModerationSchema,
    _backend: TestBackend,
}

async fn nets() -> Vec<Net> {
    let mut out = Vec::new();
    for backend in TestBackend::all("moderation").await {
        let services = backend.services_for(&moderation::spec()).await;
        let moderation = Moderation::new(services);
        let schema = schema::build(moderation.clone());
        out.push(Net {
            label: backend.label,
            moderation,
            schema,
            _backend: backend,
        });
    }
    out
}

impl Net {
    async fn run(&self, who: Option<&Person>, query: &str, vars: Value) -> Value {
        let request = Request::new(query)
            .variables(Variables::from_json(vars))
            .data(Viewer(who.map(Person::claims)));
        let r = self
            .schema
            .execute(schema::with_loaders(&self.moderation, request))
            .await;
        serde_json::to_value(&r).expect("a response serializes")
    }

    async fn ok(&self, who: Option<&Person>, query: &str, vars: Value) -> Value {
        let r = self.run(who, query, vars).await;
        assert!(
            r.get("errors").is_none(),
            "[{}] {query}\nanswered errors: {}",
            self.label,
            r["errors"]
        );
        r["data"].clone()
    }

    async fn code(&self, who: Option<&Person>, query: &str, vars: Value) -> String {
        let r = self.run(who, query, vars).await;
        r["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("[{}] {query}\nexpected an error, got {r}", self.label))
            .to_string()
    }

    /// Hands `event` to the consumer; false when it was handled before.
    async fn deliver(&self, event: &Event) -> bool {
        process_once(
            self.moderation.db(),
            "moderation-content",
            event,
            &Incoming(self.moderation.clone()),
        )
        .await
        .expect("the event is handled")
    }

    /// Social's event for `author` writing `body` as a `kind` (`post`, `comment`).
    async fn written(&self, kind: &str, author: &Person, body: &str) -> (Uuid, Event) {
        let id = Uuid::now_v7();
        let event = Event::new(
            "marquee",
            &format!("social.{kind}_created"),
            Some(author.id.to_string()),
            json!({ format!("{kind}Id"): id, "authorId": author.id, "body": body }),
        );
        assert!(self.deliver(&event).await);
        (id, event)
    }

    /// The names of the events in the outbox, oldest first.
    async fn events(&self) -> Vec<(String, Value)> {
        outbox::Entity::find()
            .order_by_asc(outbox::Column::Seq)
            .all(self.moderation.db())
            .await
            .expect("the outbox reads")
            .into_iter()
            .map(|r| {
                let e: Event = serde_json::from_str(&r.body).expect("an envelope");
                (e.event_type, e.payload)
            })
            .collect()
    }

    async fn report(&self, who: &Person, target: Value, reason: &str) -> Value {
        self.ok(
            Some(who),
            "mutation($i: ReportContentInput!) { reportContent(input: $i) { id status reason } }",
            json!({"i": {"target": target, "reason": reason, "details": "see this"}}),
        )
        .await["reportContent"]
            .clone()
    }

    async fn resolve(&self, who: &Person, report: &str, action: Value) -> Value {
        self.ok(
            Some(who),
            "mutation($id: ID!, $a: ResolveActionInput!) { resolveReport(id: $id, action: $a) { id status upheld action { id kind } } }",
            json!({"id": report, "a": action}),
        )
        .await["resolveReport"]
            .clone()
    }

    async fn add_words(&self, admin: &Person, words: &[&str]) {
        self.ok(
            Some(admin),
            "mutation($w: [String!]!) { addModerationWords(words: $w) { words } }",
            json!({"w": words}),
        )
        .await;
    }

    async fn log_kinds(&self, staff: &Person) -> Vec<(String, String, String)> {
        let d = self
            .ok(
                Some(staff),
                "{ moderationLog(first: 50) { edges { node { kind stateBefore stateAfter } } } }",
                json!({}),
            )
            .await;
        d["moderationLog"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| {
                let n = &e["node"];
                (
                    n["kind"].as_str().unwrap_or_default().to_string(),
                    n["stateBefore"].as_str().unwrap_or_default().to_string(),
                    n["stateAfter"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }
}

#[tokio::test]
async fn a_leetspeak_word_hides_the_post_and_queues_it() {
    for net in nets().await {
        let admin = Person::new(Role::Admin);
        let author = Person::new(Role::User);
        net.add_words(&admin, &["idiot"]).await;
        let (post, _) = net.written("post", &author, "what a 1d!0t").await;
        let (clean, _) = net.written("post", &author, "a fine film").await;
        let d = net
            .ok(
                Some(&admin),
                "{ moderationQueue { totalCount edges { node { targetKind targetId automatic reason flags { rule score } } } } }",
                json!({}),
            )
            .await;
        let q = &d["moderationQueue"];
        assert_eq!(q["totalCount"], 1, "[{}] {q}", net.label);
        let node = &q["edges"][0]["node"];
        assert_eq!(node["targetId"], post.to_string());
        assert_eq!(node["automatic"], true);
        assert_eq!(node["flags"][0]["rule"], "WORDS");
        let events = net.events().await;
        let hidden: Vec<&Value> = events
            .iter()
            .filter(|(t, _)| t == "moderation.content_hidden")
            .map(|(_, p)| p)
            .collect();
        assert_eq!(hidden.len(), 1, "[{}] {events:?}", net.label);
        assert_eq!(hidden[0]["targetId"], post.to_string());
        assert!(events.iter().any(|(t, _)| t == "moderation.report_filed"));
        let status = net
            .ok(
                Some(&admin),
                "query($r: [_Any!]!) { _entities(representations: $r) { ... on Post { id moderationStatus { state flagScore openReports } } } }",
                json!({"r": [{"__typename": "Post", "id": post}, {"__typename": "Post", "id": clean}]}),
            )
            .await;
        assert_eq!(
            status["_entities"][0]["moderationStatus"]["state"],
            "HIDDEN"
        );
        assert_eq!(status["_entities"][0]["moderationStatus"]["openReports"], 1);
        assert_eq!(
            status["_entities"][1]["moderationStatus"]["state"],
            "VISIBLE"
        );
        assert!(net.log_kinds(&admin).await.contains(&(
            "AUTO_HIDE".into(),
            "VISIBLE".into(),
            "HIDDEN".into()
        )));
    }
}

#[tokio::test]
async fn an_edit_that_adds_a_listed_word_is_flagged() {
    for net in nets().await {
        let admin = Person::new(Role::Admin);
        let author = Person::new(Role::User);
        net.add_words(&admin, &["idiot"]).await;
        let (post, _) = net.written("post", &author, "a fine film").await;
        let edit = Event::new(
            "marquee",
            "social.post_edited",
            None,
            json!({ "postId": post, "authorId": author.id, "body": "a fine ïdiot" }),
        );
        assert!(net.deliver(&edit).await);
        let d = net
            .ok(
                Some(&admin),
                "{ flags { edges { node { rule targetId } } } }",
                json!({}),
            )
            .await;
        assert_eq!(d["flags"]["edges"][0]["node"]["targetId"], post.to_string());
    }
}

#[tokio::test]
async fn redelivered_events_change_nothing() {
    for net in nets().await {
        let admin = Person::new(Role::Admin);
        let author = Person::new(Role::User);
        net.add_words(&admin, &["idiot"]).await;
        let (_, event) = net.written("comment", &author, "idiot").await;
        assert!(!net.deliver(&event).await, "a second delivery is skipped");
        let d = net
            .ok(
                Some(&admin),
                "{ flags { edges { node { id } } } moderationQueue { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(d["flags"]["edges"].as_array().map(Vec::len), Some(1));
        assert_eq!(d["moderationQueue"]["totalCount"], 1);
        let hidden = net
            .events()
            .await
            .into_iter()
            .filter(|(t, _)| t == "moderation.content_hidden")
            .count();
        assert_eq!(hidden, 1, "[{}]", net.label);
    }
}

/// Flags on `target`, as a moderator sees them.
async fn flag_count(net: &Net, staff: &Person, target: Uuid) -> usize {
    let d = net
        .ok(
            Some(staff),
            "query($t: ID!) { flags(filter: {targetId: $t}) { edges { node { id } } } }",
            json!({"t": target}),
        )
        .await;
    d["flags"]["edges"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn an_event_delivered_again_through_the_bus_changes_nothing() {
    for net in nets().await {
        let admin = Person::new(Role::Admin);
        let author = Person::new(Role::User);
        net.add_words(&admin, &["idiot"]).await;
        moderation::spawn_consumers(&net.moderation);
        let s = &net.moderation.services;
        let prefix = s.config.bus.subject_prefix.clone();
        let written = |body: &str| {
            let id = Uuid::now_v7();
            let e = Event::new(
                &prefix,
                "social.post_created",
                None,
                json!({ "postId": id, "authorId": author.id, "body": body }),
            );
            (id, e)
        };
        let (first, event) = written("1d10t");
        s.bus.publish(&event).await.expect("published");
        // The same event again, as `marquee events replay` sends it (a new
        // envelope, so the bus's own de-duplication does not drop it).
        let mut again = Event::new(
            &prefix,
            "replay.moderation-content",
            None,
            json!({ "event": event }),
        );
        again.subject = kit::events::replay_subject(&prefix, "moderation-content");
        s.bus.publish(&again).await.expect("published");
        // A later event: once it is flagged, the two before it were handled.
        let (last, sentinel) = written("idiot");
        s.bus.publish(&sentinel).await.expect("published");
        let mut waited = 0;
        while flag_count(&net, &admin, last).await == 0 {
            waited += 1;
            assert!(waited < 300, "[{}] the consumer never caught up", net.label);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(flag_count(&net, &admin, first).await, 1, "[{}]", net.label);
        net.moderation.services.shutdown.cancel();
    }
}

#[tokio::test]
async fn three_reports_a_hide_an_appeal_upheld_and_the_log() {
    for net in nets().await {
        let author = Person::new(Role::User);
        let reporters = [
            Person::new(Role::User),
            Person::new(Role::User),
            Person::new(Role::User),
        ];
        let moderator = Person::new(Role::Moderator);
        let admin = Person::new(Role::Admin);
        let (comment, _) = net.written("comment", &author, "you are awful").await;
        let mut first = String::new();
        for r in &reporters {
            let rep = net
                .report(r, json!({"commentId": comment}), "HARASSMENT")
                .await;
            assert_eq!(rep["status"], "OPEN");
            if first.is_empty() {
                first = rep["id"].as_str().expect("an id").to_string();
            }
        }
        let d = net
            .ok(
                Some(&moderator),
                "query($id: ID!) { report(id: $id) { reporterCount text targetAuthor { id } comment { id } flags { rule } } }",
                json!({"id": first}),
            )
            .await;
        assert_eq!(d["report"]["reporterCount"], 3, "[{}]", net.label);
        assert_eq!(d["report"]["text"], "you are awful");
        assert_eq!(d["report"]["targetAuthor"]["id"], author.id.to_string());
        assert_eq!(d["report"]["comment"]["id"], comment.to_string());
        assert_eq!(d["report"]["flags"][0]["rule"], "REPORTERS");
        net.ok(
            Some(&moderator),
            "mutation($id: ID!) { assignReport(id: $id) { status } }",
            json!({"id": first}),
        )
        .await;
        let done = net
            .resolve(&moderator, &first, json!({"kind": "HIDE", "note": "abuse"}))
            .await;
        assert_eq!(done["status"], "RESOLVED");
        assert_eq!(done["upheld"], true);
        let action = done["action"]["id"]
            .as_str()
            .expect("an action")
            .to_string();
        // Every report on the comment is resolved with it.
        let q = net
            .ok(
                Some(&moderator),
                "{ moderationQueue { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(q["moderationQueue"]["totalCount"], 0);
        // The author sees the action and appeals it.
        let mine = net
            .ok(
                Some(&author),
                "{ myModerationActions { edges { node { id kind note } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            mine["myModerationActions"]["edges"][0]["node"]["id"],
            action.as_str()
        );
        let ap = net
            .ok(
                Some(&author),
                "mutation($a: ID!) { appeal(actionId: $a, text: \"it was a joke\") { id status } }",
                json!({"a": action}),
            )
            .await;
        let appeal = ap["appeal"]["id"].as_str().expect("an appeal").to_string();
        assert_eq!(
            net.code(
                Some(&author),
                "mutation($a: ID!) { appeal(actionId: $a, text: \"again\") { id } }",
                json!({"a": action}),
            )
            .await,
            "CONFLICT"
        );
        // The moderator who hid it does not decide; an admin does.
        assert_eq!(
            net.code(
                Some(&moderator),
                "mutation($id: ID!) { decideAppeal(id: $id, uphold: true) { id } }",
                json!({"id": appeal}),
            )
            .await,
            "FORBIDDEN"
        );
        let decided = net
            .ok(
                Some(&admin),
                "mutation($id: ID!) { decideAppeal(id: $id, uphold: true, note: \"fair\") { status action { reversed } } }",
                json!({"id": appeal}),
            )
            .await;
        assert_eq!(decided["decideAppeal"]["status"], "UPHELD");
        assert_eq!(decided["decideAppeal"]["action"]["reversed"], true);
        let kinds: Vec<String> = net.events().await.into_iter().map(|(t, _)| t).collect();
        let hid = kinds.iter().position(|t| t == "moderation.content_hidden");
        let back = kinds
            .iter()
            .position(|t| t == "moderation.content_restored");
        assert!(hid.is_some() && back > hid, "[{}] {kinds:?}", net.label);
        let log = net.log_kinds(&admin).await;
        for want in [
            ("APPEAL_UPHELD", "HIDDEN", "VISIBLE"),
            ("HIDE", "VISIBLE", "HIDDEN"),
            ("ASSIGN", "VISIBLE", "VISIBLE"),
        ] {
            assert!(
                log.contains(&(want.0.into(), want.1.into(), want.2.into())),
                "[{}] {want:?} not in {log:?}",
                net.label
            );
        }
    }
}

#[tokio::test]
async fn one_open_report_per_reporter_and_target_and_none_on_yourself() {
    for net in nets().await {
        let reporter = Person::new(Role::User);
        let target = Person::new(Role::User);
        net.report(&reporter, json!({"userId": target.id}), "SPAM")
            .await;
        let q = "mutation($i: ReportContentInput!) { reportContent(input: $i) { id } }";
        let again = json!({"i": {"target": {"userId": target.id}, "reason": "SPAM"}});
        assert_eq!(net.code(Some(&reporter), q, again).await, "CONFLICT");
        let me = json!({"i": {"target": {"userId": reporter.id}, "reason": "SPAM"}});
        assert_eq!(net.code(Some(&reporter), q, me).await, "BAD_USER_INPUT");
        let two =
            json!({"i": {"target": {"userId": target.id, "postId": target.id}, "reason": "SPAM"}});
        assert_eq!(net.code(Some(&reporter), q, two).await, "BAD_USER_INPUT");
        let d = net
            .ok(
                Some(&reporter),
                "{ myReports { totalCount edges { node { reason user { id } } } } }",
                json!({}),
            )
            .await;
        assert_eq!(d["myReports"]["totalCount"], 1);
        assert_eq!(
            d["myReports"]["edges"][0]["node"]["user"]["id"],
            target.id.to_string()
        );
    }
}

#[tokio::test]
async fn reports_are_limited_per_reporter() {
    for net in nets().await {
        let admin = Person::new(Role::Admin);
        net.ok(
            Some(&admin),
            "mutation { updateModerationRules(input: { reportsPerHour: 2 }) { reportsPerHour } }",
            json!({}),
        )
        .await;
        let reporter = Person::new(Role::User);
        for _ in 0..2 {
            net.report(&reporter, json!({"userId": Uuid::now_v7()}), "SPAM")
                .await;
        }
        let code = net
            .code(
                Some(&reporter),
                "mutation($i: ReportContentInput!) { reportContent(input: $i) { id } }",
                json!({"i": {"target": {"userId": Uuid::now_v7()}, "reason": "SPAM"}}),
            )
            .await;
        assert_eq!(code, "RATE_LIMITED", "[{}]", net.label);
    }
}

#[tokio::test]
async fn the_queue_puts_graver_reports_first_or_the_oldest() {
    for net in nets().await {
        let moderator = Person::new(Role::Moderator);
        let a = Person::new(Role::User);
        let spam = net
            .report(&a, json!({"userId": Uuid::now_v7()}), "SPAM")
            .await;
        let hate = net
            .report(&a, json!({"userId": Uuid::now_v7()}), "HATE")
            .await;
        let q = "query($s: ReportSort) { moderationQueue(sort: $s, first: 1) { totalCount edges { cursor node { id priority } } pageInfo { hasNextPage endCursor } } }";
        let d = net.ok(Some(&moderator), q, json!({"s": "PRIORITY"})).await;
        let page = &d["moderationQueue"];
        assert_eq!(page["edges"][0]["node"]["id"], hate["id"]);
        assert_eq!(page["totalCount"], 2);
        assert_eq!(page["pageInfo"]["hasNextPage"], true);
        let next = net
            .ok(
                Some(&moderator),
                "query($a: String) { moderationQueue(after: $a) { edges { node { id } } } }",
                json!({"a": page["pageInfo"]["endCursor"]}),
            )
            .await;
        assert_eq!(
            next["moderationQueue"]["edges"][0]["node"]["id"],
            spam["id"]
        );
        let d = net.ok(Some(&moderator), q, json!({"s": "OLDEST"})).await;
        assert_eq!(d["moderationQueue"]["edges"][0]["node"]["id"], spam["id"]);
    }
}

#[tokio::test]
async fn suspend_and_ban_publish_their_events_and_moderators_skip_their_own_reports() {
    for net in nets().await {
        let moderator = Person::new(Role::Moderator);
        let reporter = Person::new(Role::User);
        let target = Person::new(Role::User);
        let r = net
            .report(&reporter, json!({"userId": target.id}), "HARASSMENT")
            .await;
        let id = r["id"].as_str().expect("an id").to_string();
        let q = "mutation($id: ID!, $a: ResolveActionInput!) { resolveReport(id: $id, action: $a) { id } }";
        assert_eq!(
            net.code(
                Some(&moderator),
                q,
                json!({"id": id, "a": {"kind": "SUSPEND"}})
            )
            .await,
            "BAD_USER_INPUT"
        );
        assert_eq!(
            net.code(
                Some(&moderator),
                q,
                json!({"id": id, "a": {"kind": "HIDE"}})
            )
            .await,
            "BAD_USER_INPUT"
        );
        net.resolve(
            &moderator,
            &id,
            json!({"kind": "SUSPEND", "durationHours": 24}),
        )
        .await;
        assert_eq!(
            net.code(Some(&moderator), q, json!({"id": id, "a": {"kind": "BAN"}}))
                .await,
            "CONFLICT"
        );
        let events = net.events().await;
        let (_, p) = events
            .iter()
            .find(|(t, _)| t == "moderation.user_suspended")
            .expect("a suspension event");
        assert_eq!(p["userId"], target.id.to_string());
        assert!(p["until"].is_string());
        // A report about the moderator is someone else's to resolve.
        let about_me = net
            .report(&reporter, json!({"userId": moderator.id}), "OTHER")
            .await;
        assert_eq!(
            net.code(
                Some(&moderator),
                q,
                json!({"id": about_me["id"], "a": {"kind": "DISMISS"}})
            )
            .await,
            "FORBIDDEN"
        );
        let other = Person::new(Role::Admin);
        net.resolve(
            &other,
            about_me["id"].as_str().unwrap_or_default(),
            json!({"kind": "BAN"}),
        )
        .await;
        assert!(
            net.events()
                .await
                .iter()
                .any(|(t, p)| t == "moderation.user_banned"
                    && p["userId"] == moderator.id.to_string())
        );
    }
}

/// Every query and mutation, for anonymous callers, users, moderators and
/// admins: `ok` or the error code.
#[tokio::test]
async fn authorization_matrix_over_every_field_and_mutation() {
    for net in nets().await {
        let user = Person::new(Role::User);
        let moderator = Person::new(Role::Moderator);
        let admin = Person::new(Role::Admin);
        let author = Person::new(Role::User);
        let (post, _) = net.written("post", &author, "hello").await;
        let report = net.report(&user, json!({"postId": post}), "SPAM").await;
        let rid = report["id"].as_str().expect("an id").to_string();
        let none = Uuid::now_v7().to_string();
        // (operation, variables, [anonymous, user, moderator, admin]);
        // "null" means data null with FORBIDDEN (a staff-only query).
        let cases: Vec<(&str, Value, [&str; 4])> = vec![
            ("{ myReports { totalCount } }", json!({}), ["UNAUTHENTICATED", "ok", "ok", "ok"]),
            ("{ myModerationActions { edges { cursor } } }", json!({}), ["UNAUTHENTICATED", "ok", "ok", "ok"]),
            ("{ moderationQueue { totalCount } }", json!({}), ["UNAUTHENTICATED", "FORBIDDEN", "ok", "ok"]),
            ("query($id: ID!) { report(id: $id) { id } }", json!({"id": rid}), ["UNAUTHENTICATED", "FORBIDDEN", "ok", "ok"]),
            ("{ flags { edges { cursor } } }", json!({}), ["UNAUTHENTICATED", "FORBIDDEN", "ok", "ok"]),
            ("{ moderationLog { edges { cursor } } }", json!({}), ["UNAUTHENTICATED", "FORBIDDEN", "ok", "ok"]),
            ("{ appeals { edges { cursor } } }", json!({}), ["UNAUTHENTICATED", "FORBIDDEN", "ok", "ok"]),
            ("{ moderationRules { hideThreshold } }", json!({}), ["UNAUTHENTICATED", "FORBIDDEN", "FORBIDDEN", "ok"]),
            (
                "query($r: [_Any!]!) { _entities(representations: $r) { ... on Post { moderationStatus { state } } } }",
                json!({"r": [{"__typename": "Post", "id": post}]}),
                ["UNAUTHENTICATED", "FORBIDDEN", "ok", "ok"],
            ),
            (
                "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { moderationStatus { state } } } }",
                json!({"r": [{"__typename": "User", "id": author.id}]}),
                ["UNAUTHENTICATED", "FORBIDDEN", "ok", "ok"],
            ),
            ("{ myReports { edges { node { priority } } } }", json!({}), ["UNAUTHENTICATED", "FORBIDDEN", "ok", "ok"]),
            ("{ myReports { edges { node { reporter { id } reason } } } }", json!({}), ["UNAUTHENTICATED", "ok", "ok", "ok"]),
            (
                "mutation($i: ReportContentInput!) { reportContent(input: $i) { id } }",
                json!({"i": {"target": {"reviewId": none}, "reason": "SPOILER"}}),
                ["UNAUTHENTICATED", "ok", "ok", "ok"],
            ),
            ("mutation($id: ID!) { assignReport(id: $id) { id } }", json!({"id": rid}), ["UNAUTHENTICATED", "FORBIDDEN", "ok", "ok"]),
            (
                "mutation($id: ID!) { decideAppeal(id: $id, uphold: false) { id } }",
                json!({"id": none}),
                ["UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "NOT_FOUND"],
            ),
            (
                "mutation($id: ID!) { appeal(actionId: $id, text: \"no\") { id } }",
                json!({"id": none}),
                ["UNAUTHENTICATED", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND"],
            ),
            (
                "mutation { updateModerationRules(input: { hideThreshold: 12 }) { hideThreshold } }",
                json!({}),
                ["UNAUTHENTICATED", "FORBIDDEN", "FORBIDDEN", "ok"],
            ),
            (
                "mutation { addModerationWords(words: [\"zzz\"]) { words } }",
                json!({}),
                ["UNAUTHENTICATED", "FORBIDDEN", "FORBIDDEN", "ok"],
            ),
            (
                "mutation { removeModerationWords(words: [\"zzz\"]) { words } }",
                json!({}),
                ["UNAUTHENTICATED", "FORBIDDEN", "FORBIDDEN", "ok"],
            ),
            // Last: it resolves the report the others use.
            (
                "mutation($id: ID!) { resolveReport(id: $id, action: { kind: DISMISS }) { id } }",
                json!({"id": rid}),
                ["UNAUTHENTICATED", "FORBIDDEN", "ok", "CONFLICT"],
            ),
        ];
        let callers = [None, Some(&user), Some(&moderator), Some(&admin)];
        let mut wrong = Vec::new();
        for (query, vars, expected) in &cases {
            for (who, want) in callers.iter().zip(expected) {
                let r = net.run(*who, query, vars.clone()).await;
                let got = match r["errors"][0]["extensions"]["code"].as_str() {
                    Some(c) => c.to_string(),
                    None if r.get("errors").is_some() => format!("error {}", r["errors"]),
                    None => "ok".into(),
                };
                if got != *want {
                    wrong.push(format!(
                        "{query} as {:?}: expected {want}, got {got}",
                        who.map(|p| p.role)
                    ));
                }
            }
        }
        assert!(wrong.is_empty(), "[{}]\n{}", net.label, wrong.join("\n"));
    }
}

#[tokio::test]
async fn a_queue_page_with_nested_fields_costs_a_constant_number_of_statements() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    for net in nets().await {
        let moderator = Person::new(Role::Moderator);
        let admin = Person::new(Role::Admin);
        net.ok(
            Some(&admin),
            "mutation { updateModerationRules(input: { reportsPerHour: 100 }) { reportsPerHour } }",
            json!({}),
        )
        .await;
        let reporter = Person::new(Role::User);
        let authors: Vec<Person> = (0..9).map(|_| Person::new(Role::User)).collect();
        let mut reports = Vec::new();
        for i in 0..45 {
            let (post, _) = net
                .written("post", &authors[i % authors.len()], &format!("text {i}"))
                .await;
            let r = net.report(&reporter, json!({"postId": post}), "SPAM").await;
            reports.push(r["id"].as_str().expect("an id").to_string());
        }
        // Earlier actions against some authors.
        for r in &reports[..5] {
            net.resolve(&moderator, r, json!({"kind": "WARN"})).await;
        }
        let statements = Arc::new(AtomicUsize::new(0));
        let mut services = net.moderation.services.clone();
        let counter = statements.clone();
        services.db.set_metric_callback(move |m| {
            counter.fetch_add(1, Ordering::SeqCst);
            if std::env::var("SHOW_SQL").is_ok() {
                eprintln!("SQL {}", &m.statement.sql[..m.statement.sql.len().min(120)]);
            }
        });
        let counted = Moderation::new(services);
        let schema = schema::build(counted.clone());
        let mut costs = Vec::new();
        for n in [5, 40] {
            statements.store(0, Ordering::SeqCst);
            let q = format!(
                "{{ moderationQueue(first: {n}) {{ totalCount edges {{ node {{ id text reporterCount priority
                   flags {{ rule }} earlierActions {{ id kind appeal {{ id }} }} action {{ id }}
                   post {{ id moderationStatus {{ state openReports flagScore lastAction {{ id }} }} }}
                   targetAuthor {{ id moderationStatus {{ state lastAction {{ kind }} }} }} }} }} }} }}"
            );
            let request = Request::new(q).data(Viewer(Some(moderator.claims())));
            let r = schema
                .execute(schema::with_loaders(&counted, request))
                .await;
            assert!(r.errors.is_empty(), "[{}] {:?}", net.label, r.errors);
            let data = r.data.into_json().expect("JSON");
            assert_eq!(
                data["moderationQueue"]["edges"].as_array().map(Vec::len),
                Some(n)
            );
            costs.push(statements.load(Ordering::SeqCst));
        }
        assert_eq!(
            costs[0], costs[1],
            "[{}] 5 reports cost {} statements, 40 cost {}",
            net.label, costs[0], costs[1]
        );
    }
}
