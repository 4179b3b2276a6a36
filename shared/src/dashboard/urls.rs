//! The URLs a dashboard answer may carry: Polo's hosted pages only on the
//! configured allow-list (`POLO_ALLOWED_HOSTS`, https; loopback http only
//! with `STAGE=local`), everything else built from `APP_BASE_URL`. Nothing
//! from the request ever becomes a URL.

use super::answer::DashboardError;
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlPolicy {
    pub allowed_hosts: Vec<String>,
    pub allow_loopback_http: bool,
    pub app_base_url: Url,
}

#[derive(Debug, thiserror::Error)]
#[error("Polo returned a URL outside POLO_ALLOWED_HOSTS or not https")]
pub struct DisallowedUrl;

impl UrlPolicy {
    /// A Polo URL we may send a browser to.
    pub fn polo_url(&self, raw: &str) -> Result<String, DashboardError> {
        let url = Url::parse(raw).map_err(|_| DashboardError::internal(DisallowedUrl))?;
        let host = url.host_str().unwrap_or("").to_ascii_lowercase();
        let loopback = matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]");
        let allowed = match url.scheme() {
            "https" => self.allowed_hosts.contains(&host),
            "http" => self.allow_loopback_http && loopback && self.allowed_hosts.contains(&host),
            _ => false,
        };
        if allowed && url.username().is_empty() && url.password().is_none() {
            Ok(url.into())
        } else {
            Err(DashboardError::internal(DisallowedUrl))
        }
    }

    /// `{APP_BASE_URL}/billing`: where Polo's pages send the user back.
    pub fn return_url(&self) -> String {
        self.app_path("billing")
    }

    /// The success URL, with Polo's literal `{CHECKOUT_ID}` placeholder (a
    /// `Url` would percent-encode the braces, so it is appended as text).
    pub fn success_url(&self) -> String {
        format!("{}?checkout_id={{CHECKOUT_ID}}", self.app_path("billing"))
    }

    /// The origin allowed to embed the checkout.
    pub fn embed_origin(&self) -> String {
        self.app_base_url.origin().ascii_serialization()
    }

    fn app_path(&self, path: &str) -> String {
        let base = self.app_base_url.as_str().trim_end_matches('/');
        format!("{base}/{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(local: bool) -> UrlPolicy {
        UrlPolicy {
            allowed_hosts: vec!["sandbox.polo.example".into(), "127.0.0.1".into()],
            allow_loopback_http: local,
            app_base_url: Url::parse("https://app.example.com/").unwrap(),
        }
    }

    #[test]
    fn only_https_urls_on_the_allow_list_pass() {
        let p = policy(false);
        assert!(p.polo_url("https://sandbox.polo.example/c/1").is_ok());
        assert!(p.polo_url("https://SANDBOX.polo.example/c/1").is_ok());
        for bad in [
            "https://evil.example/c/1",
            "https://sandbox.polo.example.evil.example/c",
            "http://sandbox.polo.example/c/1",
            "https://user:pw@sandbox.polo.example/c",
            "javascript:alert(1)",
            "not a url",
            "http://127.0.0.1:9100/c/1",
        ] {
            assert!(p.polo_url(bad).is_err(), "{bad} passed");
        }
    }

    #[test]
    fn loopback_http_passes_only_when_local_and_listed() {
        assert!(policy(true).polo_url("http://127.0.0.1:9100/c/1").is_ok());
        assert!(policy(true).polo_url("http://localhost:9100/c/1").is_err());
    }

    #[test]
    fn app_urls_are_built_from_the_base_with_the_literal_placeholder() {
        let p = policy(false);
        assert_eq!(
            p.success_url(),
            "https://app.example.com/billing?checkout_id={CHECKOUT_ID}"
        );
        assert_eq!(p.return_url(), "https://app.example.com/billing");
        assert_eq!(p.embed_origin(), "https://app.example.com");
    }
}
