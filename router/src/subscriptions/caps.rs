//! Caps on live connections: how many WebSockets and SSE streams one client
//! address and the whole router hold at once. A connection takes a `Slot`
//! before any work is done for it and gives it back when it ends (drop).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use kit::config::LiveLimits;

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Full {
    /// This client address holds its share already.
    Client,
    /// The router holds as many as it is configured for.
    Router,
}

impl Full {
    /// The WebSocket close code: 4429 mirrors HTTP 429, 1013 is "try again later".
    pub fn close_code(self) -> u16 {
        match self {
            Full::Client => 4429,
            Full::Router => 1013,
        }
    }

    pub fn status(self) -> http::StatusCode {
        match self {
            Full::Client => http::StatusCode::TOO_MANY_REQUESTS,
            Full::Router => http::StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Full::Client => "too many live connections from this client",
            Full::Router => "the router holds as many live connections as it may",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Full::Client => "client",
            Full::Router => "router",
        }
    }
}

pub(crate) struct Connections {
    limits: LiveLimits,
    per_client: Mutex<HashMap<Option<IpAddr>, usize>>,
    total: AtomicUsize,
}

/// One held connection; dropping it frees its place.
pub(crate) struct Slot {
    owner: Arc<Connections>,
    client: Option<IpAddr>,
}

impl Connections {
    pub fn new(limits: LiveLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            per_client: Mutex::new(HashMap::new()),
            total: AtomicUsize::new(0),
        })
    }

    pub fn limits(&self) -> &LiveLimits {
        &self.limits
    }

    /// A place for a connection of `client`, or why there is none.
    pub fn acquire(self: &Arc<Self>, client: Option<IpAddr>) -> Result<Slot, Full> {
        let mut map = self.per_client.lock().unwrap_or_else(|p| p.into_inner());
        let refused = if self.total.load(Ordering::Relaxed) >= self.limits.max_connections {
            Some(Full::Router)
        } else if map.get(&client).copied().unwrap_or(0) >= self.limits.max_connections_per_client {
            Some(Full::Client)
        } else {
            None
        };
        if let Some(full) = refused {
            metrics::counter!("marquee_router_live_refused_total", "cap" => full.label())
                .increment(1);
            tracing::warn!(target: "security", event = "live_connection_refused", cap = full.label(), client = ?client, "live connection refused");
            return Err(full);
        }
        *map.entry(client).or_insert(0) += 1;
        let total = self.total.fetch_add(1, Ordering::Relaxed) + 1;
        metrics::gauge!("marquee_router_live_connections").set(total as f64);
        Ok(Slot {
            owner: self.clone(),
            client,
        })
    }

    pub fn open(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self
            .owner
            .per_client
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.client);
            }
        }
        let total = self.owner.total.fetch_sub(1, Ordering::Relaxed) - 1;
        metrics::gauge!("marquee_router_live_connections").set(total as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_and_the_router_have_their_caps_and_slots_come_back() {
        let c = Connections::new(LiveLimits {
            max_connections_per_client: 2,
            max_connections: 3,
            max_topics: 10,
        });
        let a: Option<IpAddr> = "198.51.100.1".parse().ok();
        let b: Option<IpAddr> = "198.51.100.2".parse().ok();
        let a1 = c.acquire(a).unwrap();
        let _a2 = c.acquire(a).unwrap();
        assert_eq!(c.acquire(a).err(), Some(Full::Client));
        let _b1 = c.acquire(b).unwrap();
        assert_eq!(c.acquire(b).err(), Some(Full::Router));
        drop(a1);
        assert_eq!(c.open(), 2);
        assert!(c.acquire(a).is_ok());
    }
}
