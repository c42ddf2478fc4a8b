//! Which client a request comes from, as the login throttle counts it: the
//! peer address of the connection, unless that peer is a proxy the
//! operator trusts (`--trusted-proxy CIDR`), in which case the address that
//! proxy reported in `X-Forwarded-For`. Nobody else may name the client: a
//! header any client can write would let a guesser claim a new address
//! with every attempt.

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::IpAddr;

/// The proxies whose `X-Forwarded-For` is believed. None by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Trust the proxies in `networks`.
    pub fn new(networks: impl IntoIterator<Item = IpNet>) -> TrustedProxies {
        TrustedProxies(networks.into_iter().collect())
    }

    /// Parses `--trusted-proxy` values (`10.0.0.0/8`, `192.0.2.7`, `::1`);
    /// the error names the value that is neither an address nor a network.
    pub fn parse(values: &[String]) -> Result<TrustedProxies, String> {
        let parse = |value: &String| {
            let value = value.trim();
            value
                .parse::<IpNet>()
                .or_else(|_| value.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("--trusted-proxy {value:?} is not an address or a CIDR"))
        };
        values
            .iter()
            .map(parse)
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    /// Whether `address` is one of the trusted proxies.
    pub fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(&address))
    }

    /// The client as the throttle counts it, from the connection's `peer`
    /// (absent when the app is called in-process) and the request headers.
    /// Behind trusted proxies, each appends the address it received the
    /// request from to `X-Forwarded-For`, so the list is read from the
    /// right: the first address that is not a trusted proxy is the client.
    /// An entry that is not an address stops the walk at the last trusted
    /// hop, whose word is all that can be believed.
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> String {
        let Some(peer) = peer.map(|peer| peer.to_canonical()) else {
            return "unknown".to_owned();
        };
        let mut client = peer;
        if self.trusts(peer) {
            let forwarded = headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(|value| value.split(','))
                .collect::<Vec<_>>();
            for entry in forwarded.iter().rev() {
                let Some(address) = forwarded_address(entry) else {
                    break;
                };
                client = address.to_canonical();
                if !self.trusts(client) {
                    break;
                }
            }
        }
        counted_as(client)
    }
}

/// An `X-Forwarded-For` entry's address: `198.51.100.7`, `2001:db8::1`, or
/// with a port as some proxies write it (`198.51.100.7:4711`,
/// `[2001:db8::1]:4711`).
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
}

/// The client a connection from `peer` is counted as, before any header
/// is read: the throttle's unit, an IPv6 /64 or an IPv4 address.
pub fn peer_client(peer: IpAddr) -> String {
    counted_as(peer.to_canonical())
}

/// An IPv6 client is counted by its /64: one subscriber usually holds a
/// whole /64, and could otherwise draw a new address for every guess.
fn counted_as(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let network = IpNet::new(IpAddr::V6(v6), 64).map(|n| n.trunc());
            network.map_or_else(|_| v6.to_string(), |n| n.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        headers
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_headers_say() {
        let none = TrustedProxies::default();
        let claimed = forwarded("203.0.113.9");
        assert_eq!(none.client(ip("198.51.100.7"), &claimed), "198.51.100.7");
        assert_eq!(none.client(None, &claimed), "unknown");
    }

    #[test]
    fn behind_trusted_proxies_the_nearest_untrusted_address_is_the_client() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".to_owned()]).unwrap();
        let peer = ip("10.0.0.2");
        // The client wrote the first entry itself; the proxies added the rest.
        let chain = forwarded("192.0.2.1, 203.0.113.9, 10.0.0.5");
        assert_eq!(proxies.client(peer, &chain), "203.0.113.9");
        // An untrusted peer's header is ignored.
        assert_eq!(proxies.client(ip("198.51.100.7"), &chain), "198.51.100.7");
        // A proxy that writes the client's port too is read the same way.
        let with_ports = forwarded("[2001:db8::1]:4711, 203.0.113.9:4711");
        assert_eq!(proxies.client(peer, &with_ports), "203.0.113.9");
        // Garbage stops the walk at the last trusted hop.
        let broken = forwarded("203.0.113.9, not-an-address");
        assert_eq!(proxies.client(peer, &broken), "10.0.0.2");
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_slash_64() {
        let none = TrustedProxies::default();
        let headers = HeaderMap::new();
        let one = none.client(ip("2001:db8:1:2:aaaa::1"), &headers);
        let other = none.client(ip("2001:db8:1:2:bbbb::2"), &headers);
        assert_eq!(one, "2001:db8:1:2::/64");
        assert_eq!(one, other);
        let mapped = none.client(ip("::ffff:198.51.100.7"), &headers);
        assert_eq!(mapped, "198.51.100.7");
    }

    #[test]
    fn a_trusted_proxy_that_is_not_an_address_is_refused_by_name() {
        let error = TrustedProxies::parse(&["10.0.0.0/33".to_owned()]).unwrap_err();
        assert!(error.contains("10.0.0.0/33"), "{error}");
    }
}
