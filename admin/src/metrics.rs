//! Where the CLI's metrics go: into its log on stderr. The functions write
//! CloudWatch EMF lines to stdout, but a CLI's stdout is its output (one
//! JSON object under `--json`) and nothing collects metrics from it.

use billing::telemetry::MetricSink;
use tracing::info;

#[derive(Debug, Default, Clone, Copy)]
pub struct LogMetrics;

impl MetricSink for LogMetrics {
    fn record(
        &self,
        name: &'static str,
        value: f64,
        unit: &'static str,
        dimensions: &[(&'static str, &str)],
    ) {
        let dimensions: Vec<String> = dimensions.iter().map(|(k, v)| format!("{k}={v}")).collect();
        info!(metric = name, value, unit, dimensions = %dimensions.join(","), "metric");
    }
}
