//! Growth of a figure against N: the slope of a least-squares line through
//! (ln N, ln figure). 1.0 is linear, 0 is flat (bounded), 2.0 quadratic.

/// The exponent b of figure ≈ a·N^b; `None` with fewer than two usable
/// points (a figure of zero has no logarithm and is left out).
pub fn exponent(points: &[(f64, f64)]) -> Option<f64> {
    let logs: Vec<(f64, f64)> = points
        .iter()
        .filter(|(n, y)| *n > 0.0 && *y > 0.0)
        .map(|(n, y)| (n.ln(), y.ln()))
        .collect();
    if logs.len() < 2 {
        return None;
    }
    let count = logs.len() as f64;
    let mean_x = logs.iter().map(|p| p.0).sum::<f64>() / count;
    let mean_y = logs.iter().map(|p| p.1).sum::<f64>() / count;
    let sxx: f64 = logs.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = logs.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linear_figure_fits_one_a_quadratic_two_and_a_flat_one_zero() {
        let ns = [1_000.0, 10_000.0, 100_000.0];
        let fit = |f: fn(f64) -> f64| {
            exponent(&ns.iter().map(|n| (*n, f(*n))).collect::<Vec<_>>()).unwrap_or(f64::NAN)
        };
        assert!((fit(|n| 3.0 * n) - 1.0).abs() < 1e-9);
        assert!((fit(|n| n * n / 7.0) - 2.0).abs() < 1e-9);
        assert!(fit(|_| 42.0).abs() < 1e-9);
        assert_eq!(exponent(&[(1_000.0, 5.0)]), None);
    }
}
