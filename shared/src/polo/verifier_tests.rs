//! Known-answer vectors from the Standard Webhooks test suites (polo-api.md)
//! and one negative test per error.

use super::*;

const SECRET_1: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const ID_1: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
const TS_1: i64 = 1649367553;
const BODY_1: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
const SIG_1: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

const SECRET_2: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID_2: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TS_2: i64 = 1614265330;
const BODY_2: &[u8] = br#"{"test": 2432232314}"#;
const SIG_2: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
const SIG_2_LEGACY: &str = "v1,TcxlhK9b6UD6iVI1ZU2tTqp8PEVfYRseNNfa6b+LcUg=";

fn secrets(raw: &[&str]) -> Vec<WebhookSecret> {
    raw.iter()
        .map(|s| WebhookSecret::new(&SecretString::new(*s)).unwrap())
        .collect()
}

fn headers<'a>(id: &'a str, ts: &'a str, sig: &'a str) -> SignatureHeaders<'a> {
    SignatureHeaders {
        id: Some(id),
        timestamp: Some(ts),
        signature: Some(sig),
    }
}

fn verify_1(sig: &str, body: &[u8], now: i64) -> Result<Verified, VerifyError> {
    let ts = TS_1.to_string();
    verify(body, headers(ID_1, &ts, sig), &secrets(&[SECRET_1]), now)
}

#[test]
fn the_first_official_vector_verifies_with_the_spec_derivation() {
    let verified = verify_1(SIG_1, BODY_1, TS_1).unwrap();
    assert_eq!(verified.webhook_id.as_str(), ID_1);
    assert_eq!(verified.timestamp, TS_1);
    assert_eq!(verified.derivation, KeyDerivation::Spec);
    assert_eq!(verified.secret_index, 0);
}

#[test]
fn the_second_official_vector_verifies_with_the_spec_derivation() {
    let ts = TS_2.to_string();
    let verified = verify(
        BODY_2,
        headers(ID_2, &ts, SIG_2),
        &secrets(&[SECRET_2]),
        TS_2,
    )
    .unwrap();
    assert_eq!(verified.derivation, KeyDerivation::Spec);
}

#[test]
fn a_legacy_sender_keyed_on_the_whole_secret_string_verifies() {
    let ts = TS_2.to_string();
    let verified = verify(
        BODY_2,
        headers(ID_2, &ts, SIG_2_LEGACY),
        &secrets(&[SECRET_2]),
        TS_2,
    )
    .unwrap();
    assert_eq!(verified.derivation, KeyDerivation::Legacy);
}

#[test]
fn signing_reproduces_the_official_vectors() {
    let sig = sign(&SecretString::new(SECRET_1), ID_1, TS_1, BODY_1).unwrap();
    assert_eq!(sig, SIG_1);
    let sig = sign(&SecretString::new(SECRET_2), ID_2, TS_2, BODY_2).unwrap();
    assert_eq!(sig, SIG_2);
}

#[test]
fn any_one_of_several_signatures_is_enough() {
    let list = format!("v1,bm90IGEgc2lnbmF0dXJlIGF0IGFsbCBub3QgYXQgYWxsIQ== v2,abc {SIG_1}");
    assert!(verify_1(&list, BODY_1, TS_1).is_ok());
}

#[test]
fn the_second_of_two_configured_secrets_verifies_during_rotation() {
    let ts = TS_1.to_string();
    let configured = secrets(&["whsec_b2xkLXNlY3JldC1iZWluZy1yb3RhdGVkLW91dA==", SECRET_1]);
    let verified = verify(BODY_1, headers(ID_1, &ts, SIG_1), &configured, TS_1).unwrap();
    assert_eq!(verified.secret_index, 1);
}

#[test]
fn a_timestamp_at_the_edge_of_the_window_is_accepted_both_ways() {
    assert!(verify_1(SIG_1, BODY_1, TS_1 + TOLERANCE_SECONDS).is_ok());
    assert!(verify_1(SIG_1, BODY_1, TS_1 - TOLERANCE_SECONDS).is_ok());
}

#[test]
fn a_missing_id_header_is_refused() {
    let ts = TS_1.to_string();
    let mut h = headers(ID_1, &ts, SIG_1);
    h.id = None;
    let err = verify(BODY_1, h, &secrets(&[SECRET_1]), TS_1).unwrap_err();
    assert_eq!(err, VerifyError::MissingHeader("webhook-id"));
}

#[test]
fn a_missing_timestamp_header_is_refused() {
    let mut h = headers(ID_1, "", SIG_1);
    h.timestamp = None;
    let err = verify(BODY_1, h, &secrets(&[SECRET_1]), TS_1).unwrap_err();
    assert_eq!(err, VerifyError::MissingHeader("webhook-timestamp"));
}

#[test]
fn a_missing_signature_header_is_refused() {
    let ts = TS_1.to_string();
    let mut h = headers(ID_1, &ts, SIG_1);
    h.signature = None;
    let err = verify(BODY_1, h, &secrets(&[SECRET_1]), TS_1).unwrap_err();
    assert_eq!(err, VerifyError::MissingHeader("webhook-signature"));
}

#[test]
fn a_timestamp_that_is_not_a_number_is_refused() {
    for bad in [
        "abc",
        "16493675530000000",
        "-1649367553",
        "1649367553.0",
        " 1649367553",
        "",
    ] {
        let err = verify(
            BODY_1,
            headers(ID_1, bad, SIG_1),
            &secrets(&[SECRET_1]),
            TS_1,
        )
        .unwrap_err();
        assert_eq!(err, VerifyError::TimestampNotANumber, "timestamp {bad:?}");
    }
}

#[test]
fn a_timestamp_older_than_five_minutes_is_refused() {
    let err = verify_1(SIG_1, BODY_1, TS_1 + TOLERANCE_SECONDS + 1).unwrap_err();
    assert_eq!(err, VerifyError::TimestampTooOld);
}

#[test]
fn a_timestamp_more_than_five_minutes_ahead_is_refused() {
    let err = verify_1(SIG_1, BODY_1, TS_1 - TOLERANCE_SECONDS - 1).unwrap_err();
    assert_eq!(err, VerifyError::TimestampTooNew);
}

#[test]
fn a_replay_skips_the_window_but_still_checks_the_signature() {
    // Signed a month before this replay: on arrival it would be refused.
    let ts = TS_1.to_string();
    let configured = secrets(&[SECRET_1]);
    let a_month_later = TS_1 + 86_400 * 30;
    assert_eq!(
        verify(
            BODY_1,
            headers(ID_1, &ts, SIG_1),
            &configured,
            a_month_later
        )
        .unwrap_err(),
        VerifyError::TimestampTooOld
    );
    assert!(verify_replay(BODY_1, headers(ID_1, &ts, SIG_1), &configured).is_ok());
    let err = verify_replay(b"{}", headers(ID_1, &ts, SIG_1), &configured).unwrap_err();
    assert_eq!(err, VerifyError::SignatureMismatch);
}

#[test]
fn a_bare_v1_prefix_never_verifies() {
    assert_eq!(
        verify_1("v1,", BODY_1, TS_1).unwrap_err(),
        VerifyError::SignatureMismatch
    );
}

#[test]
fn a_truncated_signature_never_verifies() {
    let truncated = &SIG_1[..SIG_1.len() - 8];
    assert_eq!(
        verify_1(truncated, BODY_1, TS_1).unwrap_err(),
        VerifyError::SignatureMismatch
    );
    // Also a truncated raw MAC that still is valid base64 (first 16 bytes).
    let short = format!(
        "v1,{}",
        BASE64.encode(&BASE64.decode(&SIG_1[3..]).unwrap()[..16])
    );
    assert_eq!(
        verify_1(&short, BODY_1, TS_1).unwrap_err(),
        VerifyError::SignatureMismatch
    );
}

#[test]
fn only_unknown_signature_versions_are_refused() {
    let err = verify_1(
        "v2,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw= v1a,xyz",
        BODY_1,
        TS_1,
    )
    .unwrap_err();
    assert_eq!(err, VerifyError::NoSupportedSignature);
}

#[test]
fn a_tampered_body_is_refused() {
    let tampered = br#"{"email":"test@example.com","username":"test_user "}"#;
    assert_eq!(
        verify_1(SIG_1, tampered, TS_1).unwrap_err(),
        VerifyError::SignatureMismatch
    );
}

#[test]
fn a_wrong_secret_is_refused() {
    let ts = TS_1.to_string();
    let err = verify(
        BODY_1,
        headers(ID_1, &ts, SIG_1),
        &secrets(&[SECRET_2]),
        TS_1,
    )
    .unwrap_err();
    assert_eq!(err, VerifyError::SignatureMismatch);
}

#[test]
fn a_tampered_id_or_timestamp_is_refused() {
    let ts = TS_1.to_string();
    let configured = secrets(&[SECRET_1]);
    let err = verify(BODY_1, headers("msg_other", &ts, SIG_1), &configured, TS_1).unwrap_err();
    assert_eq!(err, VerifyError::SignatureMismatch);
    let later = (TS_1 + 1).to_string();
    let err = verify(BODY_1, headers(ID_1, &later, SIG_1), &configured, TS_1).unwrap_err();
    assert_eq!(err, VerifyError::SignatureMismatch);
}

#[test]
fn no_configured_secret_is_an_error_of_its_own() {
    let ts = TS_1.to_string();
    let err = verify(BODY_1, headers(ID_1, &ts, SIG_1), &[], TS_1).unwrap_err();
    assert_eq!(err, VerifyError::NoSecrets);
}

#[test]
fn a_webhook_id_with_spaces_or_control_characters_is_malformed() {
    let ts = TS_1.to_string();
    for bad in ["", "msg 1", "msg\n1", &"x".repeat(257)] {
        let err = verify(
            BODY_1,
            headers(bad, &ts, SIG_1),
            &secrets(&[SECRET_1]),
            TS_1,
        )
        .unwrap_err();
        assert_eq!(err, VerifyError::MalformedHeader("webhook-id"));
    }
}

#[test]
fn a_secret_list_parses_from_json_or_a_bare_secret() {
    let list = WebhookSecret::parse_list(&SecretString::new(format!(
        r#"["{SECRET_1}","{SECRET_2}"]"#
    )))
    .unwrap();
    assert_eq!(list.len(), 2);
    let single = WebhookSecret::parse_list(&SecretString::new(SECRET_1)).unwrap();
    assert_eq!(single.len(), 1);
    assert_eq!(
        WebhookSecret::parse_list(&SecretString::new("[]")).unwrap_err(),
        SecretFormatError::Empty
    );
    assert_eq!(
        WebhookSecret::parse_list(&SecretString::new("[1]")).unwrap_err(),
        SecretFormatError::NotAList
    );
}

#[test]
fn errors_and_debug_output_never_contain_the_secret() {
    let secret = WebhookSecret::new(&SecretString::new(SECRET_1)).unwrap();
    assert!(!format!("{secret:?}").contains("C2FVsBQ"));
    let err = WebhookSecret::parse_list(&SecretString::new(format!("[{SECRET_1}"))).unwrap_err();
    assert!(!err.to_string().contains("C2FVsBQ"));
}
