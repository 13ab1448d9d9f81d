//! The cache suite, on the in-process engine and on Redis when REDIS_URL is set.

use std::time::Duration;

use kit::cache::Quota;
use kit::testing::TestBackend;

#[tokio::test]
async fn values_round_trip_and_expire() {
    for b in TestBackend::all("cache").await {
        let cache = b.cache();
        cache
            .set("k", b"v".to_vec(), Duration::from_millis(300))
            .await
            .unwrap();
        assert_eq!(
            cache.get("k").await.unwrap().as_deref(),
            Some(&b"v"[..]),
            "{}",
            b.label
        );
        cache
            .set_json("j", &vec![1, 2, 3], Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(
            cache.get_json::<Vec<i32>>("j").await.unwrap(),
            Some(vec![1, 2, 3])
        );
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(
            cache.get("k").await.unwrap(),
            None,
            "{}: entry outlived its TTL",
            b.label
        );
        cache.delete("j").await.unwrap();
        assert_eq!(cache.get("j").await.unwrap(), None);
    }
}

#[tokio::test]
async fn scopes_do_not_see_each_other() {
    for b in TestBackend::all("cache").await {
        let a = b.cache().scoped("users");
        let c = b.cache().scoped("content");
        a.set("x", b"1".to_vec(), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(c.get("x").await.unwrap(), None, "{}", b.label);
    }
}

#[tokio::test]
async fn concurrent_increments_are_exact() {
    for b in TestBackend::all("cache").await {
        let cache = b.cache();
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(
                    async move { cache.incr("n", 1, Duration::from_secs(30)).await.unwrap() },
                )
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            cache.incr("n", 0, Duration::from_secs(30)).await.unwrap(),
            50,
            "{}",
            b.label
        );
    }
}

#[tokio::test]
async fn bumping_a_tag_orphans_versioned_keys() {
    for b in TestBackend::all("cache").await {
        let cache = b.cache();
        let k1 = cache.versioned_key("movies", "page:1").await.unwrap();
        cache
            .set(&k1, b"old".to_vec(), Duration::from_secs(30))
            .await
            .unwrap();
        cache.bump_tag("movies").await.unwrap();
        let k2 = cache.versioned_key("movies", "page:1").await.unwrap();
        assert_ne!(k1, k2);
        assert_eq!(cache.get(&k2).await.unwrap(), None, "{}", b.label);
    }
}

#[tokio::test]
async fn gcra_limits_bursts_atomically() {
    for b in TestBackend::all("cache").await {
        let cache = b.cache();
        let quota = Quota::per_minute(5);
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.gcra("client:1", quota).await.unwrap() })
            })
            .collect();
        let mut allowed = 0;
        for t in tasks {
            let d = t.await.unwrap();
            if d.allowed {
                allowed += 1;
            } else {
                assert!(d.retry_after > Duration::ZERO && d.retry_after <= Duration::from_secs(12));
            }
        }
        assert_eq!(allowed, 5, "{}: exactly the burst passes", b.label);
        // Another client is unaffected.
        assert!(cache.gcra("client:2", quota).await.unwrap().allowed);
    }
}

#[tokio::test]
async fn gcra_takes_several_tokens_at_once_or_none() {
    for b in TestBackend::all("cache").await {
        let cache = b.cache();
        let quota = Quota::per_minute(5);
        let d = cache.gcra_n("client:n", quota, 3).await.unwrap();
        assert!(d.allowed, "{}", b.label);
        assert_eq!(d.remaining, 2, "{}", b.label);
        assert!(
            !cache.gcra_n("client:n", quota, 3).await.unwrap().allowed,
            "{}: three do not fit in two",
            b.label
        );
        // The refused step took nothing: two still pass, then none.
        assert!(cache.gcra_n("client:n", quota, 2).await.unwrap().allowed);
        assert!(!cache.gcra("client:n", quota).await.unwrap().allowed);
        assert!(!cache.gcra_n("client:big", quota, 6).await.unwrap().allowed);
    }
}
