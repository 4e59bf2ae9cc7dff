//! The results table after a multi-scenario run: one line per scenario.

use std::fmt::Write;

use crate::judge::Outcome;
use crate::scenario::Key;

/// What became of one scenario: judged, or an error with its message.
pub type Row<'a> = (&'a str, Result<&'a Outcome, &'a str>);

pub fn table(rows: &[Row<'_>]) -> String {
    let mut s = String::new();
    let _ =
        writeln!(s, "\n{:<32} {:>6} {:>8} {:>8} {:>11}  result", "scenario", "time", "lost", "redeliv", "anomalies");
    for (name, r) in rows {
        let _ = match r {
            Ok(o) => writeln!(
                s,
                "{:<32} {:>5.0}s {:>8} {:>8} {:>11}  {}",
                o.scenario,
                o.run.elapsed.as_secs_f64(),
                o.value(Key::Lost),
                o.value(Key::Redelivered),
                o.other_anomalies(),
                o.status.label()
            ),
            Err(msg) => writeln!(s, "{name:<32} {:>6} {:>8} {:>8} {:>11}  ERROR: {msg}", "-", "-", "-", "-"),
        };
    }
    s
}
