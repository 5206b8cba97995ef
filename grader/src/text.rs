//! How numbers and counts read in every sentence the grader writes: one
//! copy of each rule, for the judge's reasons and the reports alike.

use std::time::Duration;

/// A number with at most two decimals and no trailing zeros: points (`10`,
/// `6.67`) and chart ticks (`2.5`, `0.25`).
pub fn short(x: f64) -> String {
    let rounded = (x * 100.0).round() / 100.0;
    if rounded == rounded.trunc() {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.2}").trim_end_matches('0').to_owned()
    }
}

/// A measured number with three significant digits (whole numbers as they
/// are): 8.03, 12.5, 1.00, 1250, 2, 0.000000500.
pub fn number(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e9 {
        format!("{x:.0}")
    } else {
        significant(x, 3)
    }
}

/// Seconds as milliseconds: 401.5, 12.34, 0.031.
pub fn milliseconds(seconds: f64) -> String {
    let ms = seconds * 1000.0;
    if ms >= 10.0 {
        format!("{ms:.1}")
    } else if ms >= 1.0 {
        format!("{ms:.2}")
    } else {
        significant(ms, 2)
    }
}

fn significant(x: f64, digits: i32) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).clamp(0, 12) as usize;
    format!("{x:.decimals$}")
}

/// A limit or a wait: "5s", "1.5s", "250ms".
pub fn duration(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds < 1.0 {
        format!("{}ms", duration.as_millis())
    } else if seconds.fract() == 0.0 {
        format!("{seconds}s")
    } else {
        format!("{seconds:.1}s")
    }
}

/// `one` or `many`, by `n`.
pub fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// A count and its noun: "1 test", "3 tests" (nouns whose plural adds s).
pub fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", plural(n, "", "s"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_numbers_drop_trailing_zeros() {
        assert_eq!(short(10.0), "10");
        assert_eq!(short(20.0 / 3.0), "6.67");
        assert_eq!(short(2.50), "2.5");
        assert_eq!(short(0.25), "0.25");
    }

    #[test]
    fn durations_and_counts_read_naturally() {
        assert_eq!(duration(Duration::from_secs(5)), "5s");
        assert_eq!(duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(duration(Duration::from_millis(250)), "250ms");
        assert_eq!(count(1, "test"), "1 test");
        assert_eq!(count(7, "observation"), "7 observations");
    }

    #[test]
    fn numbers_read_naturally() {
        assert_eq!(number(2.0), "2");
        assert_eq!(number(8.0312), "8.03");
        assert_eq!(number(12.52), "12.5");
        assert_eq!(number(48213.7), "48214");
        assert_eq!(milliseconds(0.4015), "401.5");
        assert_eq!(milliseconds(0.000031), "0.031");
        assert_eq!(milliseconds(0.0000000251), "0.000025");
        assert_eq!(number(5.0e-7), "0.000000500");
        assert_eq!(number(0.1101), "0.110");
        assert_eq!(number(1.002), "1.00");
    }
}
