//! The files of an exploration: every case is the scenario file with the
//! case's faults in place of its own, so `faultline run` reproduces it.

use serde::Serialize;
use toml_edit::DocumentMut;

use crate::scenario::FaultSpec;

/// The faults as `[[fault]]` tables.
pub fn faults_toml(faults: &[FaultSpec]) -> String {
    #[derive(Serialize)]
    struct Faults<'a> {
        fault: &'a [FaultSpec],
    }
    // A FaultSpec is strings, numbers and flat tables: TOML takes it.
    toml::to_string(&Faults { fault: faults }).expect("a fault schedule serializes as TOML")
}

/// `base` (without `[sweep]`, `[explore]` and its own faults) named `name`,
/// with `faults`, under `header` (comment lines without the `#`).
pub fn case_text(base: &DocumentMut, name: &str, header: &[String], faults: &[FaultSpec]) -> String {
    let mut doc = base.clone();
    doc.remove("fault");
    doc["name"] = toml_edit::value(name);
    let mut text = String::new();
    for line in header {
        text.push_str(format!("# {line}").trim_end());
        text.push('\n');
    }
    text.push_str(&doc.to_string());
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push('\n');
    text.push_str(&faults_toml(faults));
    text
}
