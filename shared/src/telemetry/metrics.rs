//! Counters as CloudWatch Embedded Metric Format (EMF) lines: a JSON object
//! on stdout that CloudWatch turns into a metric, with no API call and no
//! added latency. Alarms (template.yaml) watch these.

use std::sync::Mutex;
use time::OffsetDateTime;

/// The namespace every metric of this system lives in.
pub const NAMESPACE: &str = "PoloBilling";

pub trait MetricSink: Send + Sync {
    /// Records one value of `name` (`unit`: a CloudWatch unit such as
    /// `Count` or `Seconds`) under the given dimensions.
    fn record(
        &self,
        name: &'static str,
        value: f64,
        unit: &'static str,
        dimensions: &[(&'static str, &str)],
    );

    /// Adds one to `name`.
    fn count(&self, name: &'static str, dimensions: &[(&'static str, &str)]) {
        self.record(name, 1.0, "Count", dimensions);
    }
}

/// Writes EMF lines to stdout.
#[derive(Debug, Default, Clone, Copy)]
pub struct EmfStdout;

/// Builds one EMF line (public for tests and the benchmarks).
pub fn emf_line(
    name: &str,
    value: f64,
    unit: &str,
    dimensions: &[(&str, &str)],
    at: OffsetDateTime,
) -> String {
    let mut root = serde_json::Map::new();
    let names: Vec<&str> = dimensions.iter().map(|(k, _)| *k).collect();
    root.insert(
        "_aws".to_owned(),
        serde_json::json!({
            "Timestamp": at.unix_timestamp_nanos() / 1_000_000,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [names],
                "Metrics": [{"Name": name, "Unit": unit}],
            }],
        }),
    );
    for (key, value) in dimensions {
        root.insert((*key).to_owned(), serde_json::Value::from(*value));
    }
    root.insert(name.to_owned(), serde_json::Value::from(value));
    serde_json::Value::Object(root).to_string()
}

impl MetricSink for EmfStdout {
    fn record(
        &self,
        name: &'static str,
        value: f64,
        unit: &'static str,
        dimensions: &[(&'static str, &str)],
    ) {
        println!(
            "{}",
            emf_line(name, value, unit, dimensions, OffsetDateTime::now_utc())
        );
    }
}

/// Records counters in memory, for tests and the local server.
#[derive(Debug, Default)]
pub struct InMemoryMetrics {
    recorded: Mutex<Vec<Recorded>>,
}

type Recorded = (String, f64, Vec<(String, String)>);

impl InMemoryMetrics {
    /// How many times `name` was counted with `dimension = value`.
    pub fn total(&self, name: &str, dimension: &str, value: &str) -> usize {
        self.recorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(n, _, dims)| {
                n == name && dims.iter().any(|(k, v)| k == dimension && v == value)
            })
            .count()
    }

    /// Every value recorded for `name`, in order.
    pub fn values(&self, name: &str) -> Vec<f64> {
        self.recorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, v, _)| *v)
            .collect()
    }
}

impl MetricSink for InMemoryMetrics {
    fn record(
        &self,
        name: &'static str,
        value: f64,
        _unit: &'static str,
        dimensions: &[(&'static str, &str)],
    ) {
        self.recorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((
                name.to_owned(),
                value,
                dimensions
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ));
    }
}

/// The age a job reports for its oldest pending item when it could not
/// even list them: a week, past every age alarm's threshold. A lasting
/// listing failure must trip the alarm that the items themselves would
/// (an absent datum would not, for the alarms that treat missing data as
/// fine), so "cannot tell" is reported as "very old".
pub const UNKNOWN_AGE_SECONDS: f64 = 7.0 * 24.0 * 3600.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_declares_its_metric_and_dimensions() {
        let at = time::macros::datetime!(2026-01-01 00:00 UTC);
        let line = emf_line(
            "WebhookOutcome",
            1.0,
            "Count",
            &[("Function", "webhook-x"), ("Outcome", "parked")],
            at,
        );
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(json["_aws"]["Timestamp"], 1_767_225_600_000_i64);
        assert_eq!(
            json["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "PoloBilling"
        );
        assert_eq!(
            json["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0],
            serde_json::json!(["Function", "Outcome"])
        );
        assert_eq!(
            json["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "WebhookOutcome"
        );
        assert_eq!(json["Outcome"], "parked");
        assert_eq!(json["WebhookOutcome"], 1.0);
    }
}
