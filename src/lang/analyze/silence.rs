//! Findings the office accepts: a comment in a rule, or in the comment
//! lines just above it,
//!
//! ```text
//! # allow W010 report_due_soon: the reminder and the talk go out together on purpose
//! # 允许 W010 report_due_soon：提醒与约谈同时发出
//! ```
//!
//! names a code and, optionally, the other rules it accepts it with (none:
//! any); the text after `:` is the reason, for the reader.

use super::{Finding, What};
use crate::lang::ir::Policy;

/// One `# allow` comment: the rule it stands in, the code, the other rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Allow {
    pub rule: usize,
    pub code: String,
    pub with: Vec<String>,
}

/// Every `# allow` of every rule.
pub fn allows(policy: &Policy) -> Vec<Allow> {
    let mut out = Vec::new();
    for (i, r) in policy.rules.iter().enumerate() {
        let Some(file) = policy.sources.files.get(r.file) else {
            continue;
        };
        let text = &file.text;
        let start = text[..r.span.start.min(text.len())]
            .rfind('\n')
            .map(|p| p + 1)
            .unwrap_or(0);
        let before: Vec<&str> = text[..start].lines().collect();
        let mut lines: Vec<&str> = before
            .iter()
            .rev()
            .take_while(|l| l.trim_start().starts_with('#'))
            .copied()
            .collect();
        let mut rest = text[start..].lines();
        if let Some(first) = rest.next() {
            lines.push(first);
        }
        // The rule's own lines: indented or blank, up to the next item.
        for l in rest {
            if !l.is_empty() && !l.starts_with([' ', '\t', '#']) {
                break;
            }
            lines.push(l);
        }
        for l in lines {
            if let Some(c) = l.find('#')
                && let Some(a) = parse(&l[c + 1..], i)
            {
                out.extend(a);
            }
        }
    }
    out
}

fn parse(comment: &str, rule: usize) -> Option<Vec<Allow>> {
    let c = comment.trim();
    let rest = c.strip_prefix("allow").or_else(|| c.strip_prefix("允许"))?;
    let head = rest.split([':', '：']).next().unwrap_or("");
    let words: Vec<&str> = head
        .split(|ch: char| ch.is_whitespace() || ch == ',' || ch == '，')
        .filter(|w| !w.is_empty())
        .collect();
    let codes: Vec<&str> = words.iter().copied().filter(|w| is_code(w)).collect();
    if codes.is_empty() {
        return None;
    }
    let with: Vec<String> = words
        .iter()
        .filter(|w| !is_code(w))
        .map(|w| w.to_string())
        .collect();
    Some(
        codes
            .into_iter()
            .map(|code| Allow {
                rule,
                code: code.to_uppercase(),
                with: with.clone(),
            })
            .collect(),
    )
}

fn is_code(w: &str) -> bool {
    let w = w.as_bytes();
    w.len() == 4 && matches!(w[0], b'W' | b'w') && w[1..].iter().all(u8::is_ascii_digit)
}

/// Whether one of the finding's rules accepts it.
pub fn is_silenced(policy: &Policy, allows: &[Allow], f: &Finding) -> bool {
    let code = f.code().id();
    let names: Vec<&str> = f
        .rules
        .iter()
        .filter_map(|&i| policy.rules.get(i).map(|r| r.name.as_str()))
        .collect();
    let _ = What::NeverHolds;
    allows.iter().any(|a| {
        a.code == code
            && f.rules.contains(&a.rule)
            && (a.with.is_empty()
                || f.rules.iter().any(|&other| {
                    other != a.rule
                        && policy
                            .rules
                            .get(other)
                            .is_some_and(|r| a.with.contains(&r.name))
                }))
            && !names.is_empty()
    })
}
