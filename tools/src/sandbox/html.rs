//! The hosted pages' HTML: one small layout, escaping, money.

use axum::response::Html;

pub fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `2900, "usd"` → `29.00 USD`.
pub fn money(amount: i64, currency: &str) -> String {
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    format!(
        "{sign}{}.{:02} {}",
        abs / 100,
        abs % 100,
        currency.to_ascii_uppercase()
    )
}

/// A whole page; `body` is already HTML.
pub fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · Polo sandbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #1d2330; }}
.banner {{ background: #fff4d6; border: 1px solid #e8c66a; padding: .4rem .8rem; border-radius: 6px; font-size: .85rem; }}
.card {{ border: 1px solid #d5d9e2; border-radius: 10px; padding: 1rem 1.2rem; margin: 1rem 0; }}
.price {{ font-size: 1.6rem; font-weight: 600; }}
.notice {{ background: #eef6ff; border: 1px solid #9cc3f5; padding: .5rem .8rem; border-radius: 6px; }}
.error {{ background: #fdecec; border: 1px solid #f09a9a; padding: .5rem .8rem; border-radius: 6px; }}
button {{ font-size: 1rem; padding: .5rem 1.1rem; margin: .3rem .3rem .3rem 0; border-radius: 6px; border: 1px solid #5661d8; background: #5661d8; color: white; cursor: pointer; }}
button.secondary {{ background: white; color: #5661d8; }}
button.danger {{ background: white; color: #b3261e; border-color: #b3261e; }}
input, select {{ font-size: 1rem; padding: .35rem; }}
dl {{ display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; }}
dt {{ color: #5b6475; }}
</style></head>
<body><p class="banner">Polo <strong>sandbox</strong>: no real money moves.</p>
<h1>{title}</h1>
{body}
</body></html>"#,
        title = escape(title),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped_and_money_reads_in_major_units() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(money(2900, "usd"), "29.00 USD");
        assert_eq!(money(5, "eur"), "0.05 EUR");
    }
}
