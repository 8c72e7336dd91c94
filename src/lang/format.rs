//! Canonical layout of a policy file (`duban fmt`).
//!
//! One item after another with a blank line between them, each clause on
//! its own line indented by two spaces, single spaces around operators; a
//! long condition breaks before each top-level `and`/`or`. Keywords, names,
//! numbers and strings are copied from the source, so a Chinese rule stays
//! Chinese and `→` stays `→`. Comments stay with the code they stood by.
//! Formatting twice gives the same text.

use super::ast::*;
use unicode_width::UnicodeWidthStr;

/// Conditions longer than this break before each top-level `and`/`or`.
const MAX_WIDTH: usize = 80;

/// Formats a file that parsed without errors.
pub fn format(text: &str, file: &File) -> String {
    let mut f = Formatter {
        src: text,
        comments: &file.comments,
        out: Vec::new(),
    };
    let mut prev: Option<&Item> = None;
    for item in &file.items {
        if let Some(p) = prev
            && !f.stays_together(p, item)
        {
            f.out.push(Out::Blank);
        }
        f.item(item);
        prev = Some(item);
    }
    f.place_comments();
    f.render()
}

enum Out {
    Code {
        indent: usize,
        text: String,
        /// The source stretch this line prints.
        src: Span,
        trailing: Vec<String>,
    },
    Comment {
        indent: usize,
        text: String,
    },
    Blank,
}

struct Formatter<'a> {
    src: &'a str,
    comments: &'a [Comment],
    out: Vec<Out>,
}

impl Formatter<'_> {
    fn text(&self, span: &Span) -> &str {
        self.src.get(span.clone()).unwrap_or("")
    }

    fn kw(&self, kw: &Kw) -> &str {
        self.text(&kw.0)
    }

    fn line(&mut self, indent: usize, text: String, src: Span) {
        self.out.push(Out::Code {
            indent,
            text,
            src,
            trailing: Vec::new(),
        });
    }

    /// One-line declarations of one kind stay together unless the source
    /// parted them with a blank line.
    fn stays_together(&self, a: &Item, b: &Item) -> bool {
        let same = matches!(
            (a, b),
            (Item::TaskType(_), Item::TaskType(_)) | (Item::Define(_), Item::Define(_))
        );
        let between = self.text(&(a.span().end..b.span().start));
        same && between.matches('\n').count() < 2
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Policy(p) => {
                let head = format!("{} {}", self.kw(&p.kw), self.text(&p.name.span));
                self.line(0, head, p.kw.0.start..p.name.span.end);
                for opt in &p.options {
                    let (kw, s, on) = match opt {
                        PolicyOption::Timezone(kw, s) => (kw, s, None),
                        PolicyOption::Schedule(kw, s, on) => (kw, s, on.as_ref()),
                    };
                    let text = format!("{} {}{}", self.kw(kw), self.text(&s.span), self.on(on));
                    let end = on.map(|k| k.0.end).unwrap_or(s.span.end);
                    self.line(2, text, kw.0.start..end);
                }
            }
            Item::TaskType(t) => {
                let text = format!(
                    "{} {} {}",
                    self.kw(&t.kw),
                    t.name.name,
                    self.text(&t.label.span)
                );
                self.line(0, text, t.span.clone());
            }
            Item::Define(d) => {
                let title = d
                    .title
                    .as_ref()
                    .map(|t| format!(" {}", self.text(&t.span)))
                    .unwrap_or_default();
                let text = format!(
                    "{} {}.{}{title} = {}",
                    self.kw(&d.kw),
                    d.entity.name,
                    d.field.name,
                    self.expr(&d.expr)
                );
                self.line(0, text, d.span.clone());
            }
            Item::Template(t) => {
                let head = format!("{} {}", self.kw(&t.kw), t.name.name);
                self.line(0, head, t.kw.0.start..t.name.span.end);
                for part in &t.parts {
                    let (kw, s) = match part {
                        TemplatePart::Subject(kw, s) | TemplatePart::Body(kw, s) => (kw, s),
                    };
                    let text = format!("{} {}", self.kw(kw), self.text(&s.span));
                    self.line(2, text, kw.0.start..s.span.end);
                }
            }
            Item::Rule(r) => self.rule(r),
        }
    }

    fn rule(&mut self, r: &RuleDecl) {
        let mut head = format!("{} {}", self.kw(&r.kw), r.name.name);
        let mut head_end = r.name.span.end;
        if let Some(t) = &r.title {
            head.push(' ');
            head.push_str(self.text(&t.span));
            head_end = t.span.end;
        }
        self.line(0, head, r.kw.0.start..head_end);
        for c in &r.clauses {
            match &c.kind {
                ClauseKind::Schedule(kw, s, on) => {
                    let text = format!(
                        "{} {}{}",
                        self.kw(kw),
                        self.text(&s.span),
                        self.on(on.as_ref())
                    );
                    self.line(2, text, c.span.clone());
                }
                ClauseKind::For(kw, e) => {
                    let text = format!("{} {}", self.kw(kw), e.name);
                    self.line(2, text, c.span.clone());
                }
                ClauseKind::When(kw, e) => self.when(kw, e, &c.span),
                ClauseKind::Then(kw, a) => {
                    let text = format!("{} {}", self.kw(kw), self.action(a));
                    self.line(2, text, c.span.clone());
                }
                ClauseKind::Repeat(kw, every, d) => {
                    let text = format!("{} {} {}", self.kw(kw), self.kw(every), self.duration(d));
                    self.line(2, text, c.span.clone());
                }
                ClauseKind::Harsh(kw) => {
                    let text = self.kw(kw).to_string();
                    self.line(2, text, c.span.clone());
                }
                ClauseKind::Approval {
                    kw,
                    by,
                    approver,
                    within,
                } => {
                    let who = match approver {
                        Approver::Path(p) => path(p),
                        Approver::Id(s) => self.text(&s.span).to_string(),
                    };
                    let mut text = format!("{} {} {who}", self.kw(kw), self.kw(by));
                    if let Some((kw, d)) = within {
                        text.push_str(&format!(" {} {}", self.kw(kw), self.duration(d)));
                    }
                    self.line(2, text, c.span.clone());
                }
            }
        }
    }

    /// `when A and B …` on one line, or broken before each top-level
    /// `and`/`or` when long or when comments stand inside it; an operand
    /// that is itself a long chain breaks the same way, indented further.
    fn when(&mut self, kw: &Kw, e: &Expr, clause: &Span) {
        let prefix = self.kw(kw).to_string();
        self.chain(&prefix, clause.start, e, 2, 4, Some(clause.end));
    }

    fn chain(
        &mut self,
        prefix: &str,
        start: usize,
        e: &Expr,
        indent: usize,
        cont: usize,
        end: Option<usize>,
    ) {
        let one_line = format!("{prefix} {}", self.expr(e));
        let has_comment = self
            .comments
            .iter()
            .any(|c| c.span.start > e.span.start && c.span.start < e.span.end);
        let chain = top_chain(e);
        if chain.len() < 2 || (!has_comment && indent + one_line.width() <= MAX_WIDTH) {
            self.line(indent, one_line, start..end.unwrap_or(e.span.end));
            return;
        }
        for (i, (op, operand)) in chain.iter().enumerate() {
            if i == 0 {
                self.chain(prefix, start, operand, indent, cont + 2, None);
            } else {
                let op_text = op
                    .as_ref()
                    .map(|s| self.text(s))
                    .unwrap_or("and")
                    .to_string();
                let op_start = op.as_ref().map(|s| s.start).unwrap_or(operand.span.start);
                self.chain(&op_text, op_start, operand, cont, cont + 2, None);
            }
        }
    }

    fn action(&self, a: &Action) -> String {
        match a {
            Action::Task {
                kw,
                kind,
                with,
                target,
                by,
                due,
            } => {
                let mut s = format!(
                    "{} {} {} {}",
                    self.kw(kw),
                    kind.name,
                    self.kw(with),
                    path(target)
                );
                if let Some((kw, p)) = by {
                    s.push_str(&format!(" {} {}", self.kw(kw), path(p)));
                }
                if let Some((kw, d)) = due {
                    s.push_str(&format!(" {} {}", self.kw(kw), self.duration(d)));
                }
                s
            }
            Action::Notify {
                kw,
                to,
                channel,
                using,
            } => {
                let list: Vec<String> = to
                    .iter()
                    .map(|r| match r {
                        Recipient::Person(p) => path(p),
                        Recipient::Email(s) => self.text(&s.span).to_string(),
                    })
                    .collect();
                let mut s = format!("{} {}", self.kw(kw), list.join(", "));
                if let Some(c) = channel {
                    s = format!(
                        "{} {} {}",
                        self.kw(kw),
                        self.kw(&c.kw),
                        self.text(&c.name.span)
                    );
                    if let Some((kw, people)) = &c.mentioning {
                        let people: Vec<String> = people.iter().map(path).collect();
                        s.push_str(&format!(" {} {}", self.kw(kw), people.join(", ")));
                    }
                }
                if let Some((kw, t)) = using {
                    s.push_str(&format!(" {} {}", self.kw(kw), t.name));
                }
                s
            }
        }
    }

    /// ` on workdays` as written (one space before `workdays`), or nothing.
    fn on(&self, on: Option<&Kw>) -> String {
        match on {
            Some(k) => {
                let words: Vec<&str> = self.kw(k).split_whitespace().collect();
                format!(" {}", words.join(" "))
            }
            None => String::new(),
        }
    }

    fn duration(&self, d: &Duration) -> String {
        format!("{} {}", self.text(&d.amount), self.kw(&d.unit_kw))
    }

    fn expr(&self, e: &Expr) -> String {
        match &e.kind {
            ExprKind::Number(_)
            | ExprKind::Percent(_)
            | ExprKind::Str(_)
            | ExprKind::Bool(_)
            | ExprKind::Date(_)
            | ExprKind::Today => self.text(&e.span).to_string(),
            ExprKind::Duration(d) => self.duration(d),
            ExprKind::Path(p) => path(p),
            ExprKind::Paren(inner) => format!("({})", self.expr(inner)),
            ExprKind::Unary { op, op_span, expr } => match op {
                UnaryOp::Not => format!("{} {}", self.text(op_span), self.expr(expr)),
                UnaryOp::Neg => format!("-{}", self.expr(expr)),
            },
            ExprKind::Binary {
                op_span, lhs, rhs, ..
            } => {
                format!(
                    "{} {} {}",
                    self.expr(lhs),
                    self.text(op_span),
                    self.expr(rhs)
                )
            }
            ExprKind::In { expr, kw, list } => {
                let items: Vec<String> = list.iter().map(|x| self.expr(x)).collect();
                format!("{} {} [{}]", self.expr(expr), self.kw(kw), items.join(", "))
            }
            ExprKind::Call { name, args } => {
                let items: Vec<String> = args
                    .iter()
                    .map(|a| match &a.filter {
                        Some((kw, f)) => {
                            format!("{} {} {}", self.expr(&a.expr), self.kw(kw), self.expr(f))
                        }
                        None => self.expr(&a.expr),
                    })
                    .collect();
                format!("{}({})", name.name, items.join(", "))
            }
        }
    }

    /// Puts every comment back: a comment after code on its line stays at
    /// the end of the line that prints that code; a comment on a line of
    /// its own goes before the code that followed it.
    fn place_comments(&mut self) {
        for c in self.comments {
            let text = self.text(&c.span).trim_end().to_string();
            let line_start = self.src[..c.span.start]
                .rfind('\n')
                .map(|i| i + 1)
                .unwrap_or(0);
            let trailing = !self.src[line_start..c.span.start].trim().is_empty();
            if trailing {
                let target = self
                    .out
                    .iter_mut()
                    .filter_map(|o| match o {
                        Out::Code { src, trailing, .. } if src.start <= c.span.start => {
                            Some(trailing)
                        }
                        _ => None,
                    })
                    .last();
                if let Some(t) = target {
                    t.push(text);
                    continue;
                }
            }
            let rest = &self.src[c.span.end..];
            let next_code = rest
                .find(|ch: char| !ch.is_whitespace())
                .unwrap_or(rest.len());
            let blank_after = rest[..next_code].matches('\n').count() >= 2;
            let at = self
                .out
                .iter()
                .position(|o| matches!(o, Out::Code { src, .. } if src.start > c.span.start));
            let indent = match at.map(|i| &self.out[i]) {
                Some(Out::Code { indent, .. }) => *indent,
                _ => 0,
            };
            let mut insert = vec![Out::Comment { indent, text }];
            if blank_after {
                insert.push(Out::Blank);
            }
            let at = at.unwrap_or(self.out.len());
            self.out.splice(at..at, insert);
        }
    }

    fn render(&self) -> String {
        let mut s = String::new();
        let mut pending_blank = false;
        for o in &self.out {
            match o {
                Out::Blank => pending_blank = !s.is_empty(),
                Out::Code {
                    indent,
                    text,
                    trailing,
                    ..
                } => {
                    if std::mem::take(&mut pending_blank) {
                        s.push('\n');
                    }
                    s.push_str(&" ".repeat(*indent));
                    s.push_str(text);
                    for t in trailing {
                        s.push_str("  ");
                        s.push_str(t);
                    }
                    s.push('\n');
                }
                Out::Comment { indent, text } => {
                    if std::mem::take(&mut pending_blank) {
                        s.push('\n');
                    }
                    s.push_str(&" ".repeat(*indent));
                    s.push_str(text);
                    s.push('\n');
                }
            }
        }
        s
    }
}

fn path(p: &Path) -> String {
    p.segments
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(".")
}

/// The operands of the top-level `and`/`or` chain of one operator, each
/// with the span of the operator before it.
fn top_chain(e: &Expr) -> Vec<(Option<Span>, &Expr)> {
    let op = match &e.kind {
        ExprKind::Binary { op, .. } if matches!(op, BinaryOp::And | BinaryOp::Or) => *op,
        _ => return vec![(None, e)],
    };
    let mut out = Vec::new();
    collect_chain(e, op, None, &mut out);
    out
}

fn collect_chain<'e>(
    e: &'e Expr,
    op: BinaryOp,
    before: Option<Span>,
    out: &mut Vec<(Option<Span>, &'e Expr)>,
) {
    match &e.kind {
        ExprKind::Binary {
            op: o,
            op_span,
            lhs,
            rhs,
        } if *o == op => {
            collect_chain(lhs, op, before, out);
            collect_chain(rhs, op, Some(op_span.clone()), out);
        }
        _ => out.push((before, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::parse::parse;

    fn fmt(src: &str) -> String {
        let (file, diags) = parse(0, src);
        assert!(diags.is_empty(), "{diags:?}");
        format(src, &file)
    }

    #[test]
    fn canonical_layout_keeps_spelling_and_comments() {
        let src = "# head\n\n规则   逾期提醒 \"t\"  针对 问题 # subject\n 当 状态!=\"已整改\"  且 逾期天数>=30\n则 交办 提醒谈话 与 责任人 期限 7天\n";
        let out = fmt(src);
        assert_eq!(
            out,
            "# head\n\n规则 逾期提醒 \"t\"\n  针对 问题  # subject\n  当 状态 != \"已整改\" 且 逾期天数 >= 30\n  则 交办 提醒谈话 与 责任人 期限 7 天\n"
        );
        assert_eq!(fmt(&out), out);
    }

    #[test]
    fn long_conditions_break_before_and() {
        let src = "rule a for problem when status != \"rectified\" and exists(tasks where kind = \"reminder_talk\" and status = \"done\" and days_since(done_on) >= 30) then notify responsible";
        let out = fmt(src);
        assert!(out.contains("\n    and exists("), "{out}");
        assert_eq!(fmt(&out), out);
    }

    #[test]
    fn comments_inside_a_condition_stay_there() {
        let src = "rule a\n  for problem\n  when x > 1 # one\n   and y > 2\n  # before z\n   and z > 3\n  then notify responsible\n";
        let out = fmt(src);
        assert!(
            out.contains("when x > 1  # one\n    and y > 2\n    # before z\n    and z > 3\n"),
            "{out}"
        );
        assert_eq!(fmt(&out), out);
    }

    #[test]
    fn channel_notices_keep_their_spelling() {
        let src = "rule a for problem when x > 1\nthen notify channel office mentioning responsible,inspection.leader using t\n则 通知 群 \"领导群\"  提及 责任人\n";
        let out = fmt(src);
        assert!(
            out.contains("  then notify channel office mentioning responsible, inspection.leader using t\n  则 通知 群 \"领导群\" 提及 责任人\n"),
            "{out}"
        );
        assert_eq!(fmt(&out), out);
    }
}
