//! The moderation subgraph's account decisions as users carries them out
//! (on SQLite and on PostgreSQL/Redis/NATS): a suspension and a ban go
//! through the same suspension as an admin's (sessions revoked, sign-in
//! refused), reinstating ends it, admins are not suspended this way, and a
//! redelivered decision changes nothing.

use chrono::{Duration, Utc};
use kit::auth::{RequestMeta, Role};
use kit::events::{process_once, Event};
use kit::testing::TestBackend;
use serde_json::json;
use users::events::ModerationEvents;
use users::store::{Accounts, NewAccount};

const PASSWORD: &str = "quiet harbour lantern 1987!";

async fn account(accounts: &Accounts, name: &str, role: Role) -> uuid::Uuid {
    let new = NewAccount {
        email: &format!("{name}@example.com"),
        username: name,
        password: PASSWORD,
        display_name: None,
    };
    accounts
        .register(new, role, &RequestMeta::default())
        .await
        .expect("the account registers")
        .user
        .id
}

async fn deliver(accounts: &std::sync::Arc<Accounts>, event: &Event) -> bool {
    process_once(
        &accounts.services.db,
        "users-moderation",
        event,
        &ModerationEvents(accounts.clone()),
    )
    .await
    .expect("the decision applies")
}

#[tokio::test]
async fn moderation_suspends_bans_and_reinstates_through_the_suspension() {
    for backend in TestBackend::all("users").await {
        let services = backend.services_for(&users::spec()).await;
        let accounts = users::accounts(&services).await.expect("accounts");
        let meta = RequestMeta::default();
        let user = account(&accounts, "modsusp", Role::User).await;
        let until = Utc::now() + Duration::hours(24);
        let suspend = Event::new(
            "marquee",
            "moderation.user_suspended",
            None,
            json!({ "userId": user, "until": until, "reason": "HARASSMENT" }),
        );
        assert!(deliver(&accounts, &suspend).await);
        assert!(
            !deliver(&accounts, &suspend).await,
            "a redelivery is skipped"
        );
        let row = accounts.get(user).await.expect("the account");
        assert!(
            row.suspended_until.is_some_and(|t| t > Utc::now()),
            "[{}]",
            backend.label
        );
        let refused = accounts.login("modsusp", PASSWORD, &meta).await;
        assert!(
            refused.is_err(),
            "[{}] a suspended account signs in",
            backend.label
        );
        let reinstate = Event::new(
            "marquee",
            "moderation.user_reinstated",
            None,
            json!({ "userId": user }),
        );
        assert!(deliver(&accounts, &reinstate).await);
        assert!(accounts.login("modsusp", PASSWORD, &meta).await.is_ok());
        let ban = Event::new(
            "marquee",
            "moderation.user_banned",
            None,
            json!({ "userId": user, "reason": "HATE" }),
        );
        assert!(deliver(&accounts, &ban).await);
        let row = accounts.get(user).await.expect("the account");
        assert!(row
            .suspended_until
            .is_some_and(|t| t > Utc::now() + Duration::days(365 * 1000)));
        // An admin is not suspended by moderation.
        let admin = account(&accounts, "modadmin", Role::Admin).await;
        let ban_admin = Event::new(
            "marquee",
            "moderation.user_banned",
            None,
            json!({ "userId": admin, "reason": "HATE" }),
        );
        assert!(deliver(&accounts, &ban_admin).await);
        assert!(accounts
            .get(admin)
            .await
            .expect("the admin")
            .suspended_until
            .is_none());
    }
}
