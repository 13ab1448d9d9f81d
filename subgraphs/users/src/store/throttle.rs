//! Wrong-password throttling that an attacker cannot turn on the owner:
//! failures are counted per (account, client address), atomically in the
//! cache (Redis when configured), and only that address waits, with a delay
//! that doubles per failure past `free_failures`; a ceiling per account
//! bounds what many addresses together may try in one window. A password
//! reset always works and clears the account's count. A cache that does not
//! answer lets the attempt through (logged), as the router's rate limiter does.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kit::cache::Cache;
use kit::config::SignInThrottle;
use kit::{Error, ErrorCode};
use uuid::Uuid;

pub struct Throttle {
    cache: Cache,
    config: SignInThrottle,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn throttled(wait: u64, what: &str) -> Error {
    Error::new(
        ErrorCode::RateLimited,
        format!("{what}; retry in {} s", wait.max(1)),
    )
}

impl Throttle {
    pub fn new(cache: Cache, config: SignInThrottle) -> Self {
        Self {
            cache: cache.scoped("signin"),
            config,
        }
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.config.window_secs.max(1))
    }

    fn address_key(account: Uuid, ip: Option<&str>) -> String {
        format!("{account}:{}", ip.unwrap_or("unknown"))
    }

    /// Whether `ip` may try a password for `account` now.
    pub async fn check(&self, account: Uuid, ip: Option<&str>) -> Result<(), Error> {
        let checked = async {
            let account_failures = self
                .cache
                .incr(&account.to_string(), 0, self.window())
                .await?;
            let until = self
                .cache
                .get(&format!("until:{}", Self::address_key(account, ip)))
                .await?
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0);
            Ok::<_, kit::cache::CacheError>((account_failures, until))
        };
        match checked.await {
            Ok((failures, _)) if failures >= i64::from(self.config.account_ceiling) => {
                metrics::counter!("marquee_signin_throttled_total", "scope" => "account")
                    .increment(1);
                Err(throttled(
                    self.config.window_secs,
                    "this account takes no more sign-in attempts for now (a password reset still works)",
                ))
            }
            Ok((_, until)) if until > now_secs() => {
                metrics::counter!("marquee_signin_throttled_total", "scope" => "address")
                    .increment(1);
                Err(throttled(
                    until - now_secs(),
                    "too many wrong passwords for this account from your address",
                ))
            }
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::error!(error = %e, "sign-in throttle unavailable; attempt let through");
                Ok(())
            }
        }
    }

    /// Counts a wrong password from `ip` for `account`; past the free ones,
    /// that address waits (and each further failure doubles the wait).
    pub async fn failed(&self, account: Uuid, ip: Option<&str>) {
        let key = Self::address_key(account, ip);
        let counted = async {
            self.cache
                .incr(&account.to_string(), 1, self.window())
                .await?;
            let n = self.cache.incr(&key, 1, self.window()).await?;
            let over = n - i64::from(self.config.free_failures);
            if over >= 0 {
                let doubling = over.min(20) as u32;
                let wait = self
                    .config
                    .base_delay_secs
                    .saturating_mul(1u64 << doubling)
                    .min(self.config.max_delay_secs)
                    .max(1);
                self.cache
                    .set(
                        &format!("until:{key}"),
                        (now_secs() + wait).to_string().into_bytes(),
                        Duration::from_secs(wait),
                    )
                    .await?;
            }
            Ok::<_, kit::cache::CacheError>(())
        };
        if let Err(e) = counted.await {
            tracing::error!(error = %e, "could not count a failed sign-in");
        }
    }

    /// The right password from `ip`: its count for `account` starts over.
    pub async fn succeeded(&self, account: Uuid, ip: Option<&str>) {
        let key = Self::address_key(account, ip);
        for k in [key.clone(), format!("until:{key}")] {
            if let Err(e) = self.cache.delete(&k).await {
                tracing::warn!(error = %e, "could not clear a sign-in count");
            }
        }
    }

    /// A password reset: the account takes sign-ins again at once.
    pub async fn reset(&self, account: Uuid) {
        if let Err(e) = self.cache.delete(&account.to_string()).await {
            tracing::warn!(error = %e, "could not clear an account's sign-in count");
        }
    }
}

impl super::Accounts {
    /// The sign-in rate limit of this subgraph itself (`router.rate_limit.auth`,
    /// the router's own numbers), per signed-in user or else per client
    /// address: reached directly, the subgraph holds the same line.
    pub async fn admit_auth(
        &self,
        meta: &kit::auth::RequestMeta,
        viewer: Option<&kit::auth::Claims>,
    ) -> Result<(), Error> {
        let limits = &self.services.config.router.rate_limit;
        if !limits.enabled {
            return Ok(());
        }
        let key = match (viewer, &meta.client_ip) {
            (Some(c), _) => format!("rl:users-auth:u:{}", c.sub),
            (None, Some(ip)) => format!("rl:users-auth:ip:{ip}"),
            (None, None) => "rl:users-auth:ip:unknown".into(),
        };
        let quota = kit::cache::Quota::per_minute(limits.auth.per_minute);
        match self.services.cache.gcra(&key, quota).await {
            Ok(d) if !d.allowed => Err(throttled(
                d.retry_after.as_secs().max(1),
                "too many sign-in requests",
            )),
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::error!(error = %e, "sign-in limit unavailable; request let through");
                Ok(())
            }
        }
    }
}
