//! Identifier newtypes. Each parses once at the edge (non-empty, at most 128
//! visible ASCII characters, none of the URL's own delimiters `/ ? # %` or
//! `\`, and not `.` or `..`: so it is one URL path segment after encoding
//! whatever a client does with dots, a log field, a DynamoDB key) and cannot
//! be built any other way.

use serde::{Deserialize, Serialize};
use std::fmt;

const MAX_ID_LEN: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("empty")]
    Empty,
    #[error("longer than 128 characters")]
    TooLong,
    #[error("contains a character outside visible ASCII")]
    InvalidCharacter,
    /// `/ ? # % \`: would end or escape a URL path segment.
    #[error("contains a URL delimiter (/ ? # % or \\)")]
    UrlDelimiter,
    /// `.` or `..`: a path segment that means "here" or "up".
    #[error("is a dot segment")]
    DotSegment,
}

fn check(raw: &str) -> Result<(), IdError> {
    if raw.is_empty() {
        Err(IdError::Empty)
    } else if raw.len() > MAX_ID_LEN {
        Err(IdError::TooLong)
    } else if !raw.bytes().all(|b| b.is_ascii_graphic()) {
        Err(IdError::InvalidCharacter)
    } else if raw
        .bytes()
        .any(|b| matches!(b, b'/' | b'?' | b'#' | b'%' | b'\\'))
    {
        Err(IdError::UrlDelimiter)
    } else if raw == "." || raw == ".." {
        Err(IdError::DotSegment)
    } else {
        Ok(())
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                check(raw)?;
                Ok(Self(raw.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(raw: String) -> Result<Self, IdError> {
                check(&raw)?;
                Ok(Self(raw))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// The app's account id (the JWT subject; Polo's `external_customer_id`).
    AccountId
);
id_type!(
    /// A Polo subscription id.
    SubscriptionId
);
id_type!(
    /// A Polo product id (decides the plan tier).
    ProductId
);
id_type!(
    /// A Polo customer id.
    CustomerId
);
id_type!(
    /// A Polo checkout id.
    CheckoutId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_parses_when_it_is_short_visible_ascii() {
        assert_eq!(AccountId::parse("acct_1").unwrap().as_str(), "acct_1");
        assert_eq!(AccountId::parse(""), Err(IdError::Empty));
        assert_eq!(AccountId::parse("a b"), Err(IdError::InvalidCharacter));
        assert_eq!(AccountId::parse("ü"), Err(IdError::InvalidCharacter));
        assert_eq!(AccountId::parse(&"a".repeat(129)), Err(IdError::TooLong));
    }

    #[test]
    fn an_id_that_could_leave_its_url_path_segment_is_refused() {
        for raw in ["a/b", "/", "a?b", "a#b", "50%", "%2F", "a\\b", "../x"] {
            assert_eq!(CheckoutId::parse(raw), Err(IdError::UrlDelimiter), "{raw}");
        }
        for raw in [".", ".."] {
            assert_eq!(CheckoutId::parse(raw), Err(IdError::DotSegment), "{raw}");
        }
        assert!(
            CheckoutId::parse("...").is_ok(),
            "only the dot segments themselves"
        );
        assert!(AccountId::parse("auth0|5f1c.a-b_c").is_ok());
    }

    #[test]
    fn an_id_deserialises_only_through_its_parser() {
        let ok: SubscriptionId = serde_json::from_str("\"sub_1\"").unwrap();
        assert_eq!(ok.as_str(), "sub_1");
        assert!(serde_json::from_str::<SubscriptionId>("\"\"").is_err());
    }
}
