//! The flag rule set: admins read and edit it.

use async_graphql::{Context, InputObject, Object, SimpleObject};
use kit::auth::Role;

use super::{claims, moderation};
use crate::rules::Rules;

/// The flag rules and the thresholds they work with.
#[derive(SimpleObject)]
pub struct ModerationRules {
    /// Flags adding up to this hide content pending review.
    pub hide_threshold: i32,
    /// Reports one account may file per hour.
    pub reports_per_hour: i32,
    /// Words and phrases matched on word boundaries after normalisation
    /// (case, accents, confusable letters, leetspeak).
    pub words: Vec<String>,
    pub word_score: i32,
    /// More links than this in one text is link spam.
    pub max_links: i32,
    pub link_score: i32,
    /// Domains first seen this recently are new (counted for new accounts).
    pub new_domain_hours: i32,
    pub new_domain_score: i32,
    /// The same text this many times within the window is a burst.
    pub duplicate_count: i32,
    pub duplicate_window_minutes: i32,
    pub duplicate_score: i32,
    /// Accounts younger than this that wrote more than `newAccountMaxPosts`.
    pub new_account_hours: i32,
    pub new_account_max_posts: i32,
    pub velocity_score: i32,
    /// This many distinct reporters on one target raise a flag.
    pub reporter_count: i32,
    pub reporter_score: i32,
}

fn int(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl From<Rules> for ModerationRules {
    fn from(r: Rules) -> Self {
        Self {
            hide_threshold: r.hide_threshold,
            reports_per_hour: int(r.reports_per_hour),
            words: r.words,
            word_score: r.word_score,
            max_links: int(r.max_links),
            link_score: r.link_score,
            new_domain_hours: int(r.new_domain_hours),
            new_domain_score: r.new_domain_score,
            duplicate_count: int(r.duplicate_count),
            duplicate_window_minutes: int(r.duplicate_window_minutes),
            duplicate_score: r.duplicate_score,
            new_account_hours: int(r.new_account_hours),
            new_account_max_posts: int(r.new_account_max_posts),
            velocity_score: r.velocity_score,
            reporter_count: int(r.reporter_count),
            reporter_score: r.reporter_score,
        }
    }
}

/// Changes to the rule set: each given field replaces the current value.
#[derive(InputObject, Default)]
pub struct ModerationRulesInput {
    pub hide_threshold: Option<i32>,
    pub reports_per_hour: Option<i32>,
    /// The whole word list (`addModerationWords` adds to it).
    pub words: Option<Vec<String>>,
    pub word_score: Option<i32>,
    pub max_links: Option<i32>,
    pub link_score: Option<i32>,
    pub new_domain_hours: Option<i32>,
    pub new_domain_score: Option<i32>,
    pub duplicate_count: Option<i32>,
    pub duplicate_window_minutes: Option<i32>,
    pub duplicate_score: Option<i32>,
    pub new_account_hours: Option<i32>,
    pub new_account_max_posts: Option<i32>,
    pub velocity_score: Option<i32>,
    pub reporter_count: Option<i32>,
    pub reporter_score: Option<i32>,
}

/// A count from the input (negative ones fail the rule set's check as 0).
fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

impl ModerationRulesInput {
    fn apply(self, mut r: Rules) -> Rules {
        macro_rules! set {
            ($($field:ident $(as $conv:ident)?),*) => {
                $(if let Some(v) = self.$field { r.$field = set!(@conv v $($conv)?); })*
            };
            (@conv $v:ident count) => { count($v) };
            (@conv $v:ident) => { $v };
        }
        set!(
            hide_threshold,
            reports_per_hour as count,
            word_score,
            max_links as count,
            link_score,
            new_domain_hours as count,
            new_domain_score,
            duplicate_count as count,
            duplicate_window_minutes as count,
            duplicate_score,
            new_account_hours as count,
            new_account_max_posts as count,
            velocity_score,
            reporter_count as count,
            reporter_score
        );
        if let Some(w) = self.words {
            r.words = w;
        }
        r
    }
}

#[derive(Default)]
pub struct RulesQuery;

#[Object]
impl RulesQuery {
    /// The flag rules in force (admins only).
    #[graphql(requires_scopes = "admin")]
    async fn moderation_rules(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<ModerationRules>> {
        kit::auth::require_role(ctx, Role::Admin)?;
        Ok(Some(moderation(ctx).rules().await?.into()))
    }
}

#[derive(Default)]
pub struct RulesMutation;

#[Object]
impl RulesMutation {
    /// Changes the flag rules (admins only).
    #[graphql(requires_scopes = "admin")]
    async fn update_moderation_rules(
        &self,
        ctx: &Context<'_>,
        input: ModerationRulesInput,
    ) -> async_graphql::Result<ModerationRules> {
        let m = moderation(ctx);
        let rules = input.apply(m.rules().await?);
        Ok(m.set_rules(claims(ctx)?, rules).await?.into())
    }

    /// Adds words or phrases to the list (admins only).
    #[graphql(requires_scopes = "admin")]
    async fn add_moderation_words(
        &self,
        ctx: &Context<'_>,
        words: Vec<String>,
    ) -> async_graphql::Result<ModerationRules> {
        let m = moderation(ctx);
        let mut rules = m.rules().await?;
        rules.words.extend(words);
        Ok(m.set_rules(claims(ctx)?, rules).await?.into())
    }

    /// Removes words or phrases from the list (admins only).
    #[graphql(requires_scopes = "admin")]
    async fn remove_moderation_words(
        &self,
        ctx: &Context<'_>,
        words: Vec<String>,
    ) -> async_graphql::Result<ModerationRules> {
        let m = moderation(ctx);
        let mut rules = m.rules().await?;
        let gone: Vec<String> = words.iter().map(|w| w.trim().to_lowercase()).collect();
        rules.words.retain(|w| !gone.contains(w));
        Ok(m.set_rules(claims(ctx)?, rules).await?.into())
    }
}
