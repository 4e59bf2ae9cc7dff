//! Scenario files: parse, fill defaults, validate. Every error names the
//! file, line and field so the user can fix it without guessing.

mod expect;
mod model;
mod plan;
mod validate;

pub use expect::{Expectation, Key};
pub use model::*;
pub use plan::{Action, BrokerTarget, Fault, GroupIx, MemberId, Trigger, WorkerId};

use std::ops::Range;
use std::path::{Path, PathBuf};

use miette::{Diagnostic, NamedSource, SourceSpan};

/// A scenario file that cannot be used, with where and why.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{file}:{line}: {field}: {message}")]
#[diagnostic(code(faultline::scenario))]
pub struct ScenarioError {
    pub file: String,
    pub line: usize,
    /// Dotted path of the offending field, e.g. `fault[1].broker`.
    pub field: String,
    pub message: String,
    #[source_code]
    src: NamedSource<String>,
    #[label("{message}")]
    span: Option<SourceSpan>,
    #[help]
    help: Option<String>,
}

/// The JSON Schema of scenario files, from the same types serde reads.
pub fn json_schema() -> schemars::Schema {
    schemars::schema_for!(Scenario)
}

/// What a command line may change in every scenario it runs, before
/// validation (so that a client the file did not name is checked too).
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    /// Run on this backend whatever the file says.
    pub backend: Option<Backend>,
    /// Every group without a `command` runs this client.
    pub client: Option<Client>,
}

/// Reads and validates a scenario file.
#[expect(clippy::result_large_err, reason = "made once per bad file, and carries the file for miette")]
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_with(path, Overrides::default())
}

/// [`load`], with `overrides` applied before validation.
#[expect(clippy::result_large_err, reason = "made once per bad file, and carries the file for miette")]
pub fn load_with(path: &Path, overrides: Overrides) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: path.display().to_string(),
        line: 0,
        field: "-".into(),
        message: format!("cannot read the file: {e}"),
        src: NamedSource::new(path.display().to_string(), String::new()),
        span: None,
        help: Some("check the path; scenario files live in scenarios/".into()),
    })?;
    parse_with(path, &text, overrides)
}

/// Parses and validates scenario text; `path` is used for messages and the
/// default name.
#[expect(clippy::result_large_err, reason = "made once per bad file, and carries the file for miette")]
pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    parse_with(path, text, Overrides::default())
}

/// [`parse`], with `overrides` applied before validation.
#[expect(clippy::result_large_err, reason = "made once per bad file, and carries the file for miette")]
pub fn parse_with(path: &Path, text: &str, overrides: Overrides) -> Result<Scenario, ScenarioError> {
    let source = Source { path: path.to_owned(), text };
    let mut scenario: Scenario = toml::from_str(text).map_err(|e| {
        let span = e.span().map(|span| source.narrow(span, e.message()));
        let field = span.as_ref().map(|s| source.field_at(s)).unwrap_or_else(|| "-".into());
        source.error(span, field, e.message().trim().to_string(), None)
    })?;
    if let Some(backend) = overrides.backend {
        scenario.cluster.backend = backend;
    }
    if let Some(client) = overrides.client {
        for g in scenario.groups.iter_mut().filter(|g| g.command.is_none()) {
            g.client = client;
        }
    }
    if scenario.name.is_empty() {
        scenario.name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    }
    scenario.plan = validate::validate(&scenario).map_err(|problem| {
        let span = source.span_of(&problem.path);
        source.error(span, dotted(&problem.path), problem.message, problem.help)
    })?;
    Ok(scenario)
}

/// `["fault", "1", "broker"]` → `fault[1].broker`.
fn dotted(path: &[String]) -> String {
    let mut out = String::new();
    for seg in path {
        if seg.parse::<usize>().is_ok() {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(seg);
        }
    }
    out
}

struct Source<'a> {
    path: PathBuf,
    text: &'a str,
}

impl Source<'_> {
    fn error(&self, span: Option<Range<usize>>, field: String, message: String, help: Option<String>) -> ScenarioError {
        let line = span.as_ref().map_or(1, |s| self.text[..s.start.min(self.text.len())].matches('\n').count() + 1);
        ScenarioError {
            file: self.path.display().to_string(),
            line,
            field,
            message,
            src: NamedSource::new(self.path.display().to_string(), self.text.to_string()),
            span: span.map(|s| SourceSpan::from(s.start..s.end.max(s.start))),
            help,
        }
    }

    /// A tagged table (`[[fault]]`) is read as a whole, so serde's errors
    /// inside it carry the table's span: narrow it to the line of the key
    /// the message names (`unknown field `x``) or whose value it quotes.
    fn narrow(&self, span: Range<usize>, message: &str) -> Range<usize> {
        let Some(table) = self.text.get(span.clone()) else { return span };
        if !table.contains('\n') {
            return span;
        }
        let quoted = |after: &str| {
            let rest = message.split(after).nth(1)?;
            let (_, rest) = rest.split_once('`').or_else(|| rest.split_once(' '))?;
            let end = rest.find(['`', ',']).unwrap_or(rest.len());
            Some(rest[..end].to_string())
        };
        let key = quoted("unknown field").or_else(|| quoted("duplicate field"));
        let mut offset = span.start;
        for line in table.split_inclusive('\n') {
            let found = match line.split_once('=') {
                Some((k, v)) => match &key {
                    Some(key) => k.trim() == key,
                    None => {
                        let v = v.trim();
                        !v.is_empty() && message.contains(&format!(" {v},"))
                    }
                },
                None => false,
            };
            if found {
                return offset..offset + line.trim_end().len();
            }
            offset += line.len();
        }
        span
    }

    /// Span of the value at a dotted path such as `["fault", "1", "broker"]`,
    /// falling back to the nearest enclosing table that exists.
    fn span_of(&self, path: &[String]) -> Option<Range<usize>> {
        let doc = toml_edit::ImDocument::parse(self.text).ok()?;
        let mut item: &toml_edit::Item = doc.as_item();
        let mut best = None;
        for seg in path {
            let next = match seg.parse::<usize>() {
                Ok(i) => item.get(i),
                Err(_) => item.get(seg.as_str()),
            };
            match next {
                Some(next) => {
                    item = next;
                    best = item.span().or(best);
                }
                None => break,
            }
        }
        best
    }

    /// Dotted path of the field on the line where `span` starts: the
    /// governing `[table]` or `[[array]]` header (with its index) and the key.
    fn field_at(&self, span: &Range<usize>) -> String {
        let upto = &self.text[..span.start.min(self.text.len())];
        let line_start = upto.rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[line_start..].find('\n').map_or(self.text.len(), |i| line_start + i);
        let line = self.text[line_start..line_end].trim();
        let mut header = String::new();
        let mut counts = std::collections::HashMap::<String, usize>::new();
        for l in self.text[..line_end].lines().map(str::trim) {
            if let Some(name) = l.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
                let n = counts.entry(name.trim().to_string()).or_insert(0);
                header = format!("{}[{}]", name.trim(), *n);
                *n += 1;
            } else if let Some(name) = l.strip_prefix('[').and_then(|r| r.split(']').next()) {
                header = name.trim().to_string();
            }
        }
        let key = match line.split_once('=') {
            Some((k, _)) if !line.starts_with('[') => k.trim().trim_matches('"').to_string(),
            _ => String::new(),
        };
        match (header.is_empty(), key.is_empty()) {
            (true, true) => "-".into(),
            (true, false) => key,
            (false, true) => header,
            (false, false) => format!("{header}.{key}"),
        }
    }
}
