//! Lowering pest's pairs into the spanned AST: the one place that walks a
//! `Pair`; operator precedence by the Pratt parser.

use super::*;
pub(super) struct Lower<'d> {
    pub(super) file: usize,
    /// Offset of the parsed stretch in the file.
    pub(super) base: usize,
    pub(super) diags: &'d mut Vec<Diagnostic>,
}

/// Where a pair's last real token ends: pest counts the white space and
/// comments it skipped after it as part of the pair.
pub(super) fn content_end(pair: &Pair<'_, Rule>) -> usize {
    let span = pair.as_span();
    let text = pair.get_input();
    let comments: Vec<(usize, usize)> = pair
        .clone()
        .into_inner()
        .flatten()
        .filter(|p| p.as_rule() == Rule::COMMENT)
        .map(|p| (p.as_span().start(), p.as_span().end()))
        .collect();
    let mut end = span.end();
    loop {
        let trimmed = span.start() + text[span.start()..end].trim_end().len();
        match comments.iter().find(|(_, e)| *e == trimmed) {
            Some((s, _)) => end = *s,
            None => return trimmed,
        }
    }
}

/// The children of a pair, without comments and closing parentheses (a
/// pair only so that errors can name it).
pub(super) fn children(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner()
        .filter(|p| !matches!(p.as_rule(), Rule::COMMENT | Rule::close_paren))
}

impl Lower<'_> {
    /// A pair's span without the white space and comments pest may have
    /// consumed after its last token.
    pub(super) fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        self.base + s.start()..self.base + content_end(pair)
    }

    pub(super) fn kw(&self, pair: &Pair<'_, Rule>) -> Kw {
        Kw(self.span(pair))
    }

    pub(super) fn file(mut self, pairs: Pairs<'_, Rule>, out: &mut File) {
        for pair in pairs.clone().flatten() {
            if pair.as_rule() == Rule::COMMENT {
                out.comments.push(Comment {
                    span: self.span(&pair),
                });
            }
        }
        for top in pairs {
            for pair in children(top) {
                let item = match pair.as_rule() {
                    Rule::policy_decl => Item::Policy(self.policy(pair)),
                    Rule::tasktype_decl => Item::TaskType(self.tasktype(pair)),
                    Rule::define_decl => Item::Define(self.define(pair)),
                    Rule::template_decl => Item::Template(self.template(pair)),
                    Rule::rule_decl => Item::Rule(self.rule(pair)),
                    _ => continue,
                };
                out.items.push(item);
            }
        }
    }

    pub(super) fn ident(&self, pair: &Pair<'_, Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: self.span(pair),
        }
    }

    pub(super) fn string(&self, pair: Pair<'_, Rule>) -> Str {
        let span = self.span(&pair);
        let raw = pair.as_str();
        let value = if let Some(inner) = raw
            .strip_prefix("\"\"\"")
            .and_then(|r| r.strip_suffix("\"\"\""))
        {
            // A leading newline after `"""` is layout, not text.
            inner.strip_prefix('\n').unwrap_or(inner).to_string()
        } else {
            unescape(raw.get(1..raw.len().saturating_sub(1)).unwrap_or(""))
        };
        Str { value, span }
    }

    pub(super) fn policy(&mut self, pair: Pair<'_, Rule>) -> PolicyDecl {
        let span = self.span(&pair);
        let mut it = children(pair);
        let kw = it.next().map(|p| self.kw(&p)).unwrap_or(Kw(span.clone()));
        let name = it
            .next()
            .map(|p| self.string(p))
            .unwrap_or_else(|| empty_str(&span));
        let options = it
            .map(|opt| {
                let rule = opt.as_rule();
                let mut parts = children(opt);
                let kw = parts
                    .next()
                    .map(|p| self.kw(&p))
                    .unwrap_or(Kw(span.clone()));
                let value = parts
                    .next()
                    .map(|p| self.string(p))
                    .unwrap_or_else(|| empty_str(&span));
                if rule == Rule::timezone_opt {
                    PolicyOption::Timezone(kw, value)
                } else {
                    PolicyOption::Schedule(kw, value, parts.next().map(|p| self.kw(&p)))
                }
            })
            .collect();
        PolicyDecl {
            kw,
            name,
            options,
            span,
        }
    }

    pub(super) fn tasktype(&mut self, pair: Pair<'_, Rule>) -> TaskTypeDecl {
        let span = self.span(&pair);
        let parts: Vec<_> = children(pair).collect();
        TaskTypeDecl {
            kw: self.kw(&parts[0]),
            name: self.ident(&parts[1]),
            label: self.string(parts[2].clone()),
            span,
        }
    }

    pub(super) fn define(&mut self, pair: Pair<'_, Rule>) -> DefineDecl {
        let span = self.span(&pair);
        let parts: Vec<_> = children(pair).collect();
        let title = (parts.len() > 4).then(|| self.string(parts[3].clone()));
        DefineDecl {
            kw: self.kw(&parts[0]),
            entity: self.ident(&parts[1]),
            field: self.ident(&parts[2]),
            title,
            expr: self.top_expr(parts[parts.len() - 1].clone()),
            span,
        }
    }

    pub(super) fn template(&mut self, pair: Pair<'_, Rule>) -> TemplateDecl {
        let span = self.span(&pair);
        let mut it = children(pair);
        let kw = it.next().map(|p| self.kw(&p)).unwrap_or(Kw(span.clone()));
        let name = it
            .next()
            .map(|p| self.ident(&p))
            .unwrap_or_else(|| empty_ident(&span));
        let parts = it
            .map(|part| {
                let rule = part.as_rule();
                let mut inner = children(part);
                let kw = inner
                    .next()
                    .map(|p| self.kw(&p))
                    .unwrap_or(Kw(span.clone()));
                let text = inner
                    .next()
                    .map(|p| self.string(p))
                    .unwrap_or_else(|| empty_str(&span));
                if rule == Rule::subject_part {
                    TemplatePart::Subject(kw, text)
                } else {
                    TemplatePart::Body(kw, text)
                }
            })
            .collect();
        TemplateDecl {
            kw,
            name,
            parts,
            span,
        }
    }

    pub(super) fn rule(&mut self, pair: Pair<'_, Rule>) -> RuleDecl {
        let span = self.span(&pair);
        let mut it = children(pair).peekable();
        let kw = it.next().map(|p| self.kw(&p)).unwrap_or(Kw(span.clone()));
        let name = it
            .next()
            .map(|p| self.ident(&p))
            .unwrap_or_else(|| empty_ident(&span));
        let title = match it.peek().map(|p| p.as_rule()) {
            Some(Rule::string) => it.next().map(|p| self.string(p)),
            _ => None,
        };
        let clauses = it.map(|c| self.clause(c)).collect();
        RuleDecl {
            kw,
            name,
            title,
            clauses,
            span,
        }
    }

    pub(super) fn clause(&mut self, pair: Pair<'_, Rule>) -> Clause {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let parts: Vec<_> = children(pair).collect();
        let kw = self.kw(&parts[0]);
        let kind = match rule {
            Rule::schedule_clause => ClauseKind::Schedule(
                kw,
                self.string(parts[1].clone()),
                parts.get(2).map(|p| self.kw(p)),
            ),
            Rule::for_clause => ClauseKind::For(kw, self.ident(&parts[1])),
            Rule::when_clause => ClauseKind::When(kw, self.top_expr(parts[1].clone())),
            Rule::then_clause => ClauseKind::Then(kw, self.action(parts[1].clone())),
            Rule::harsh_clause => ClauseKind::Harsh(kw),
            Rule::approval_clause => {
                let approver = match parts[2].as_rule() {
                    Rule::string => Approver::Id(self.string(parts[2].clone())),
                    _ => Approver::Path(self.path(&parts[2])),
                };
                let within = parts.get(3).map(|w| {
                    let inner: Vec<_> = children(w.clone()).collect();
                    (self.kw(&inner[0]), self.duration(inner[1].clone()))
                });
                ClauseKind::Approval {
                    kw,
                    by: self.kw(&parts[1]),
                    approver,
                    within,
                }
            }
            _ => ClauseKind::Repeat(kw, self.kw(&parts[1]), self.duration(parts[2].clone())),
        };
        Clause { kind, span }
    }

    pub(super) fn action(&mut self, pair: Pair<'_, Rule>) -> Action {
        let rule = pair.as_rule();
        let mut it = children(pair);
        let Some(first) = it.next() else {
            unreachable_grammar()
        };
        let kw = self.kw(&first);
        if rule == Rule::task_action {
            let parts: Vec<_> = it.collect();
            let mut by = None;
            let mut due = None;
            for part in parts.iter().skip(3) {
                let inner: Vec<_> = children(part.clone()).collect();
                if part.as_rule() == Rule::by_part {
                    by = Some((self.kw(&inner[0]), self.path(&inner[1])));
                } else {
                    due = Some((self.kw(&inner[0]), self.duration(inner[1].clone())));
                }
            }
            Action::Task {
                kw,
                kind: self.ident(&parts[0]),
                with: self.kw(&parts[1]),
                target: self.path(&parts[2]),
                by,
                due,
            }
        } else {
            let mut to = Vec::new();
            let mut using = None;
            let mut channel = None;
            for part in it {
                match part.as_rule() {
                    Rule::channel_part => channel = Some(self.channel_part(part)),
                    Rule::recipient => {
                        if let Some(inner) = children(part).next() {
                            if inner.as_rule() == Rule::string {
                                to.push(Recipient::Email(self.string(inner)));
                            } else {
                                to.push(Recipient::Person(self.path(&inner)));
                            }
                        }
                    }
                    _ => {
                        let inner: Vec<_> = children(part).collect();
                        using = Some((self.kw(&inner[0]), self.ident(&inner[1])));
                    }
                }
            }
            Action::Notify {
                kw,
                to,
                channel,
                using,
            }
        }
    }

    fn channel_part(&mut self, pair: Pair<'_, Rule>) -> ChannelPart {
        let parts: Vec<_> = children(pair).collect();
        let name = match parts[1].as_rule() {
            Rule::string => {
                let s = self.string(parts[1].clone());
                Ident {
                    name: s.value,
                    span: s.span,
                }
            }
            _ => self.ident(&parts[1]),
        };
        let mentioning = parts.get(2).map(|m| {
            let inner: Vec<_> = children(m.clone()).collect();
            (
                self.kw(&inner[0]),
                inner[1..].iter().map(|p| self.path(p)).collect(),
            )
        });
        ChannelPart {
            kw: self.kw(&parts[0]),
            name,
            mentioning,
        }
    }

    pub(super) fn path(&self, pair: &Pair<'_, Rule>) -> Path {
        Path {
            segments: pair.clone().into_inner().map(|p| self.ident(&p)).collect(),
            span: self.span(pair),
        }
    }

    pub(super) fn duration(&mut self, pair: Pair<'_, Rule>) -> Duration {
        let span = self.span(&pair);
        let parts: Vec<_> = children(pair).collect();
        let value = self.number(&parts[0]);
        let unit = match parts[1].as_rule() {
            Rule::unit_weeks => Unit::Weeks,
            Rule::unit_workdays => Unit::Workdays,
            _ => Unit::Days,
        };
        Duration {
            amount: self.span(&parts[0]),
            value,
            unit,
            unit_kw: self.kw(&parts[1]),
            span,
        }
    }

    pub(super) fn number(&mut self, pair: &Pair<'_, Rule>) -> f64 {
        let text = pair.as_str().trim_end_matches(['%', '％']);
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ => {
                self.diags.push(Diagnostic::new(
                    Code::BadLiteral,
                    self.file,
                    self.span(pair),
                    format!("`{text}` is not a number duban can use"),
                ));
                0.0
            }
        }
    }

    /// A whole condition or define: within [`limits::MAX_DEPTH`] levels,
    /// or replaced by `true` after an error (which no warning takes up), so the checker never walks a
    /// tree deeper than that.
    pub(super) fn top_expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let e = self.expr(pair);
        match limits::too_deep(self.file, &e) {
            Some(d) => {
                self.diags.push(d);
                Expr {
                    kind: ExprKind::Bool(true),
                    span: e.span,
                }
            }
            None => e,
        }
    }

    pub(super) fn expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = self.span(&pair);
        let pairs = children(pair).collect::<Vec<_>>();
        if let Some(d) = self.too_long(&pairs) {
            self.diags.push(d);
            return Expr {
                kind: ExprKind::Bool(true),
                span,
            };
        }
        // The Pratt parser's closures each need the lowering context; they
        // run one at a time, so a RefCell hands it to whichever runs.
        let this = std::cell::RefCell::new(self);
        PRATT
            .map_primary(|p| this.borrow_mut().primary(p))
            .map_prefix(|op, rhs| {
                let l = this.borrow();
                let op_span = l.span(&op);
                let unary = if op.as_rule() == Rule::op_not {
                    UnaryOp::Not
                } else {
                    UnaryOp::Neg
                };
                Expr {
                    span: op_span.start..rhs.span.end,
                    kind: ExprKind::Unary {
                        op: unary,
                        op_span,
                        expr: Box::new(rhs),
                    },
                }
            })
            .map_postfix(|lhs, op| {
                let span_end = this.borrow().span(&op).end;
                let mut parts = children(op);
                let kw = parts
                    .next()
                    .map(|p| this.borrow().kw(&p))
                    .unwrap_or(Kw(lhs.span.clone()));
                let list = parts.map(|p| this.borrow_mut().expr(p)).collect();
                Expr {
                    span: lhs.span.start..span_end,
                    kind: ExprKind::In {
                        expr: Box::new(lhs),
                        kw,
                        list,
                    },
                }
            })
            .map_infix(|lhs, op, rhs| {
                let op_span = this.borrow().span(&op);
                let binary = match op.as_rule() {
                    Rule::op_or => BinaryOp::Or,
                    Rule::op_and => BinaryOp::And,
                    Rule::op_eq => BinaryOp::Eq,
                    Rule::op_ne => BinaryOp::Ne,
                    Rule::op_lt => BinaryOp::Lt,
                    Rule::op_le => BinaryOp::Le,
                    Rule::op_gt => BinaryOp::Gt,
                    Rule::op_ge => BinaryOp::Ge,
                    Rule::op_add => BinaryOp::Add,
                    Rule::op_sub => BinaryOp::Sub,
                    Rule::op_mul => BinaryOp::Mul,
                    _ => BinaryOp::Div,
                };
                Expr {
                    span: lhs.span.start..rhs.span.end,
                    kind: ExprKind::Binary {
                        op: binary,
                        op_span,
                        lhs: Box::new(lhs),
                        rhs: Box::new(rhs),
                    },
                }
            })
            .parse(pairs.into_iter())
    }

    /// A chain of more than [`limits::MAX_TERMS`] terms, or more than
    /// [`limits::MAX_NESTING`] `not`/`-` in a row (the Pratt parser
    /// recurses once for each).
    fn too_long(&self, pairs: &[Pair<'_, Rule>]) -> Option<Diagnostic> {
        let mut terms = 1;
        let mut run = 0;
        for p in pairs {
            let message = match p.as_rule() {
                Rule::op_not | Rule::op_neg => {
                    run += 1;
                    if run <= limits::MAX_NESTING {
                        continue;
                    }
                    format!("more than {} `not` or `-` in a row", limits::MAX_NESTING)
                }
                Rule::op_or
                | Rule::op_and
                | Rule::op_eq
                | Rule::op_ne
                | Rule::op_lt
                | Rule::op_le
                | Rule::op_gt
                | Rule::op_ge
                | Rule::op_add
                | Rule::op_sub
                | Rule::op_mul
                | Rule::op_div => {
                    run = 0;
                    terms += 1;
                    if terms <= limits::MAX_TERMS {
                        continue;
                    }
                    format!("more than {} terms in one expression", limits::MAX_TERMS)
                }
                _ => {
                    run = 0;
                    continue;
                }
            };
            return Some(
                Diagnostic::new(Code::TooDeep, self.file, self.span(p), message)
                    .label("one too many")
                    .help("split the expression into `define`s"),
            );
        }
        None
    }

    pub(super) fn primary(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::paren => match children(pair).next() {
                Some(inner) => ExprKind::Paren(Box::new(self.expr(inner))),
                None => unreachable_grammar(),
            },
            Rule::kw_today => ExprKind::Today,
            Rule::kw_true => ExprKind::Bool(true),
            Rule::kw_false => ExprKind::Bool(false),
            Rule::date => self.date(&pair),
            Rule::duration => ExprKind::Duration(self.duration(pair)),
            Rule::percent => ExprKind::Percent(self.number(&pair) / 100.0),
            Rule::number => ExprKind::Number(self.number(&pair)),
            Rule::string => ExprKind::Str(self.string(pair).value),
            Rule::call => {
                let mut it = children(pair);
                let Some(name) = it.next() else {
                    unreachable_grammar()
                };
                let name = self.ident(&name);
                let args = it.map(|a| self.arg(a)).collect();
                ExprKind::Call { name, args }
            }
            _ => ExprKind::Path(self.path(&pair)),
        };
        Expr { kind, span }
    }

    pub(super) fn arg(&mut self, pair: Pair<'_, Rule>) -> Arg {
        let span = self.span(&pair);
        let parts: Vec<_> = children(pair).collect();
        let expr = self.expr(parts[0].clone());
        let filter = if parts.len() == 3 {
            Some((self.kw(&parts[1]), self.expr(parts[2].clone())))
        } else {
            None
        };
        Arg { expr, filter, span }
    }

    pub(super) fn date(&mut self, pair: &Pair<'_, Rule>) -> ExprKind {
        match chrono::NaiveDate::parse_from_str(pair.as_str(), "%Y-%m-%d") {
            Ok(d) => ExprKind::Date(d),
            Err(_) => {
                self.diags.push(
                    Diagnostic::new(
                        Code::BadLiteral,
                        self.file,
                        self.span(pair),
                        format!("`{}` is not a date", pair.as_str()),
                    )
                    .label("no such day")
                    .help("write dates as YYYY-MM-DD, e.g. 2026-01-31"),
                );
                ExprKind::Today
            }
        }
    }
}

/// The grammar guarantees the shapes lowered above; a pair missing where
/// it says one must be is a bug in the grammar, not in the user's input.
pub(super) fn unreachable_grammar() -> ! {
    unreachable!("pest produced a pair shape the grammar does not allow")
}

pub(super) fn empty_str(span: &Span) -> Str {
    Str {
        value: String::new(),
        span: span.end..span.end,
    }
}

pub(super) fn empty_ident(span: &Span) -> Ident {
    Ident {
        name: String::new(),
        span: span.end..span.end,
    }
}

pub(super) fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}
