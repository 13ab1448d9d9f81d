//! Who is on the other end of a connection: the client address, believing
//! `X-Forwarded-For`/`Forwarded` only from configured proxies (the router in
//! front of a subgraph, a load balancer in front of the router). One rule for
//! every process, so audit logs, sessions and rate limits agree.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderMap;
use ipnet::IpNet;

/// The client address of a request, as `resolve` found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

/// The client address: the peer, or, when the peer is a trusted proxy, the
/// nearest untrusted hop of `X-Forwarded-For` (else `Forwarded: for=`).
pub fn client_ip(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer = peer.map(|p| p.ip())?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    if hops.is_empty() {
        hops = headers
            .get_all(http::header::FORWARDED)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split([',', ';']))
            .filter_map(|part| {
                let (k, v) = part.trim().split_once('=')?;
                if !k.eq_ignore_ascii_case("for") {
                    return None;
                }
                let v = v.trim_matches('"');
                let v = v
                    .strip_prefix('[')
                    .map_or(v, |s| s.split(']').next().unwrap_or(s));
                v.parse()
                    .ok()
                    .or_else(|| v.rsplit_once(':').and_then(|(h, _)| h.parse().ok()))
            })
            .collect();
    }
    // Walk from the nearest hop back; the first one we do not trust is the client.
    Some(
        hops.iter()
            .rev()
            .find(|ip| !is_trusted(ip))
            .or(hops.first())
            .copied()
            .unwrap_or(peer),
    )
}

/// Parses a list of proxies (IPs or CIDR ranges; validated at config load).
pub fn trusted_proxies(list: &[String]) -> Vec<IpNet> {
    list.iter()
        .filter_map(|s| {
            s.parse::<IpNet>()
                .ok()
                .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
        })
        .collect()
}

/// Middleware: puts the request's `ClientAddr` in its extensions.
pub async fn resolve(
    State(trusted): State<Arc<Vec<IpNet>>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| *a);
    let addr = ClientAddr(client_ip(request.headers(), peer, &trusted));
    request.extensions_mut().insert(addr);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let trusted = trusted_proxies(&["10.0.0.0/8".into()]);
        let peer: SocketAddr = "10.1.2.3:5000".parse().unwrap();
        let stranger: SocketAddr = "203.0.113.9:5000".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "198.51.100.7, 10.0.0.5")]);
        assert_eq!(
            client_ip(&h, Some(peer), &trusted),
            "198.51.100.7".parse().ok()
        );
        // A client that is not a proxy cannot choose its address.
        assert_eq!(
            client_ip(&h, Some(stranger), &trusted),
            "203.0.113.9".parse().ok()
        );
        let h = headers(&[("forwarded", "for=\"[2001:db8::1]:4711\";proto=https")]);
        assert_eq!(
            client_ip(&h, Some(peer), &trusted),
            "2001:db8::1".parse().ok()
        );
        let h = headers(&[]);
        assert_eq!(client_ip(&h, Some(peer), &trusted), Some(peer.ip()));
    }
}
