//! Expressions: operators, types, literal coercion (enum labels, percentages),
//! and the built-in functions over collections and dates.

use super::*;

impl Checker<'_> {
    pub(super) fn expr(&mut self, e: &ast::Expr, cx: &Cx) -> Expr {
        use ast::ExprKind as A;
        let mk = |kind: ExprKind, ty: Ty| Expr {
            kind,
            ty,
            file: cx.file,
            span: e.span.clone(),
        };
        match &e.kind {
            A::Number(n) => mk(ExprKind::Literal(Literal::Number(*n)), Ty::Number),
            A::Percent(n) => mk(ExprKind::Literal(Literal::Number(*n)), Ty::Number),
            A::Str(s) => mk(ExprKind::Literal(Literal::Text(s.clone())), Ty::Text),
            A::Bool(b) => mk(ExprKind::Literal(Literal::Bool(*b)), Ty::Bool),
            A::Date(d) => mk(ExprKind::Literal(Literal::Date(*d)), Ty::Date),
            A::Duration(d) if d.unit == ast::Unit::Workdays => {
                // Dates plus working days would need the calendar in every
                // expression: working days are counted by the functions.
                self.error(
                    Diagnostic::new(
                        Code::BadLiteral,
                        cx.file,
                        d.span.clone(),
                        "a duration in working days goes in `due`, `repeat every` or `within`, not in a condition",
                    )
                    .label("working days here")
                    .help("in a condition count working days with workdays_since(DATE) or workdays_until(DATE), e.g. `workdays_since(deadline) >= 5`"),
                );
                error_expr(cx.file, e.span.clone())
            }
            A::Duration(d) => mk(ExprKind::Literal(Literal::Number(d.days())), Ty::Duration),
            A::Today => mk(ExprKind::Today, Ty::Date),
            A::Paren(inner) => {
                let mut x = self.expr(inner, cx);
                x.span = e.span.clone();
                x
            }
            A::Path(p) => match self.resolve(p, cx) {
                Resolved::Value(fp, ty) => mk(ExprKind::Field(fp), ty),
                Resolved::Collection(c) => {
                    let name = self.sources.text(cx.file, &p.span).to_string();
                    self.error(
                        Diagnostic::new(Code::TypeMismatch, cx.file, p.span.clone(), format!("`{name}` is a collection, not a value"))
                            .label(format!("a list of {}s", c.element()))
                            .help(format!("use it in a function: `count({name})`, `exists({name} where …)`, `rate({name} where …)`")),
                    );
                    error_expr(cx.file, e.span.clone())
                }
                Resolved::Error => error_expr(cx.file, e.span.clone()),
            },
            A::Unary { op, expr, .. } => {
                let x = self.expr(expr, cx);
                match op {
                    ast::UnaryOp::Not => {
                        self.expect_bool(&x, expr, cx, "`not` applies to a condition");
                        mk(ExprKind::Not(Box::new(x)), Ty::Bool)
                    }
                    ast::UnaryOp::Neg => {
                        if !x.ty.is_numeric() {
                            self.mismatch(cx, expr, &x, "a minus sign needs a number");
                        }
                        let ty = x.ty;
                        mk(ExprKind::Neg(Box::new(x)), ty)
                    }
                }
            }
            A::Binary {
                op,
                op_span,
                lhs,
                rhs,
            } => self.binary(e, *op, op_span, lhs, rhs, cx),
            A::In { expr, list, .. } => {
                let x = self.expr(expr, cx);
                let items: Vec<Expr> = list
                    .iter()
                    .map(|item| {
                        let y = self.expr(item, cx);
                        self.comparable(ast::BinaryOp::Eq, x.clone(), y, expr, item, cx)
                            .1
                    })
                    .collect();
                mk(ExprKind::In(Box::new(x), items), Ty::Bool)
            }
            A::Call { name, args } => self.call(e, name, args, cx),
        }
    }

    pub(super) fn expect_bool(&mut self, x: &Expr, at: &ast::Expr, cx: &Cx, what: &str) {
        if !matches!(x.ty, Ty::Bool | Ty::Error) {
            self.mismatch(cx, at, x, what);
        }
    }

    pub(super) fn mismatch(&mut self, cx: &Cx, at: &ast::Expr, x: &Expr, what: &str) {
        self.error(
            Diagnostic::new(
                Code::TypeMismatch,
                cx.file,
                at.span.clone(),
                what.to_string(),
            )
            .label(format!("this is {}", x.ty.describe())),
        );
    }

    pub(super) fn binary(
        &mut self,
        e: &ast::Expr,
        op: ast::BinaryOp,
        op_span: &Span,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        cx: &Cx,
    ) -> Expr {
        use ast::BinaryOp as B;
        let l = self.expr(lhs, cx);
        let r = self.expr(rhs, cx);
        let mk = |kind: ExprKind, ty: Ty| Expr {
            kind,
            ty,
            file: cx.file,
            span: e.span.clone(),
        };
        match op {
            B::And | B::Or => {
                let word = if op == B::And { "and" } else { "or" };
                self.expect_bool(&l, lhs, cx, &format!("`{word}` joins conditions"));
                self.expect_bool(&r, rhs, cx, &format!("`{word}` joins conditions"));
                let kind = if op == B::And {
                    ExprKind::And(Box::new(l), Box::new(r))
                } else {
                    ExprKind::Or(Box::new(l), Box::new(r))
                };
                mk(kind, Ty::Bool)
            }
            B::Eq | B::Ne | B::Lt | B::Le | B::Gt | B::Ge => {
                let (l, r) = self.comparable(op, l, r, lhs, rhs, cx);
                self.warn_rate_as_number(cx, &l, &r, op_span);
                let cmp = match op {
                    B::Eq => CmpOp::Eq,
                    B::Ne => CmpOp::Ne,
                    B::Lt => CmpOp::Lt,
                    B::Le => CmpOp::Le,
                    B::Gt => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                mk(ExprKind::Compare(cmp, Box::new(l), Box::new(r)), Ty::Bool)
            }
            B::Add | B::Sub | B::Mul | B::Div => {
                let arith = match op {
                    B::Add => ArithOp::Add,
                    B::Sub => ArithOp::Sub,
                    B::Mul => ArithOp::Mul,
                    _ => ArithOp::Div,
                };
                let ty = self.arith_type(arith, &l, &r, e, op_span, cx);
                mk(ExprKind::Arith(arith, Box::new(l), Box::new(r)), ty)
            }
        }
    }

    pub(super) fn arith_type(
        &mut self,
        op: ArithOp,
        l: &Expr,
        r: &Expr,
        e: &ast::Expr,
        op_span: &Span,
        cx: &Cx,
    ) -> Ty {
        use Ty::*;
        match (op, l.ty, r.ty) {
            (_, Error, _) | (_, _, Error) => Error,
            (ArithOp::Add, Date, Duration)
            | (ArithOp::Add, Duration, Date)
            | (ArithOp::Sub, Date, Duration) => Date,
            (ArithOp::Sub, Date, Date) => Number,
            (_, a, b) if a.is_numeric() && b.is_numeric() => {
                if a == Duration && b == Duration && matches!(op, ArithOp::Add | ArithOp::Sub) {
                    Duration
                } else {
                    Number
                }
            }
            (_, a, b) => {
                let help = if a == Date || b == Date {
                    "dates take durations: `deadline + 30 days`, `today - 2 weeks`; `date - date` is a number of days"
                } else {
                    "arithmetic works on numbers"
                };
                self.error(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        cx.file,
                        e.span.clone(),
                        format!(
                            "cannot {} {} and {}",
                            arith_word(op),
                            a.describe(),
                            b.describe()
                        ),
                    )
                    .label(format!(
                        "`{}` does not apply here",
                        self.sources.text(cx.file, op_span)
                    ))
                    .help(help),
                );
                Error
            }
        }
    }

    /// Checks that two sides can be compared with `op`; turns enum and task
    /// kind labels into codes.
    pub(super) fn comparable(
        &mut self,
        op: ast::BinaryOp,
        l: Expr,
        r: Expr,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        cx: &Cx,
    ) -> (Expr, Expr) {
        use Ty::*;
        let ordering = !matches!(op, ast::BinaryOp::Eq | ast::BinaryOp::Ne);
        let l2 = self.coerce_literal(r.ty, l, lhs, cx);
        let r2 = self.coerce_literal(l2.ty, r, rhs, cx);
        let ok = match (l2.ty, r2.ty) {
            (Error, _) | (_, Error) => true,
            (a, b) if a.is_numeric() && b.is_numeric() => true,
            (Date, Date) | (Text, Text) => true,
            (Enum(a), Enum(b)) => a == b && !ordering,
            (TaskKind, TaskKind) | (TaskKind, Text) | (Text, TaskKind) => !ordering,
            (Ref(a), Ref(b)) => a == b && !ordering,
            (Ref(_), Text) | (Text, Ref(_)) => !ordering,
            (Bool, Bool) => !ordering,
            _ => false,
        };
        if !ok {
            let (a, b) = (l2.ty, r2.ty);
            let help = if matches!(a, Enum(_)) && matches!(b, Enum(_) | Text) && ordering {
                "enum values have no order; use `in [\"major\", \"serious\"]`".to_string()
            } else if (a == Date && b == Text) || (a == Text && b == Date) {
                "write dates without quotes: `deadline < 2026-01-31`".to_string()
            } else if (a == Date && b.is_numeric()) || (a.is_numeric() && b == Date) {
                "to compare a date with a number of days, use `days_since(date)` or `days_until(date)`".to_string()
            } else if ordering && a == b {
                format!("{} can only be compared with = and !=", a.describe())
            } else {
                "both sides of a comparison must be of the same type".to_string()
            };
            let message = match (a, b) {
                (Enum(e), Enum(_)) if ordering => format!("a {} has no order", e.name),
                _ if ordering && a == b => format!("{} has no order", a.describe()),
                _ => format!("cannot compare {} with {}", a.describe(), b.describe()),
            };
            self.error(
                Diagnostic::new(
                    Code::TypeMismatch,
                    cx.file,
                    lhs.span.start..rhs.span.end,
                    message,
                )
                .label("these do not compare")
                .help(help),
            );
        }
        (l2, r2)
    }

    /// A text literal compared with an enum or a task kind becomes its code;
    /// an unknown value is an error with the closest suggestion.
    pub(super) fn coerce_literal(&mut self, target: Ty, e: Expr, at: &ast::Expr, cx: &Cx) -> Expr {
        let ExprKind::Literal(Literal::Text(s)) = &e.kind else {
            return e;
        };
        match target {
            Ty::Enum(def) => match def.code_of(s) {
                Some(code) => Expr {
                    kind: ExprKind::Literal(Literal::Text(code.to_string())),
                    ty: Ty::Enum(def),
                    ..e
                },
                None => {
                    let help = did_you_mean(s, def.spellings()).unwrap_or_else(|| {
                        format!(
                            "the values are {}",
                            def.values
                                .iter()
                                .map(|(c, l)| format!("\"{c}\" ({l})"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    });
                    self.error(
                        Diagnostic::new(
                            Code::UnknownEnumValue,
                            cx.file,
                            at.span.clone(),
                            format!("`{s}` is not a {}", def.name),
                        )
                        .label(format!("not one of the {} values", def.name))
                        .help(help),
                    );
                    error_expr(cx.file, at.span.clone())
                }
            },
            Ty::TaskKind => match self.task_kind(cx.file, s, &at.span) {
                Some(code) => Expr {
                    kind: ExprKind::Literal(Literal::Text(code)),
                    ty: Ty::TaskKind,
                    ..e
                },
                None => error_expr(cx.file, at.span.clone()),
            },
            _ => e,
        }
    }

    pub(super) fn warn_rate_as_number(&mut self, cx: &Cx, l: &Expr, r: &Expr, op_span: &Span) {
        let big = |e: &Expr| matches!(e.kind, ExprKind::Literal(Literal::Number(n)) if n > 1.0);
        let (share, num) = if self.is_share(l) && big(r) {
            (l, r)
        } else if self.is_share(r) && big(l) {
            (r, l)
        } else {
            return;
        };
        let n = match num.kind {
            ExprKind::Literal(Literal::Number(n)) => n,
            _ => 0.0,
        };
        let _ = share;
        self.error(
            Diagnostic::new(
                Code::RateAsNumber,
                cx.file,
                num.span.clone(),
                format!("a share between 0 and 1 compared with {n}"),
            )
            .label(format!(
                "this comparison (`{}`) can never hold as meant",
                self.sources.text(cx.file, op_span)
            ))
            .help(format!(
                "rate(…) is a share from 0 to 1: did you mean `{n}%`?"
            )),
        );
    }

    pub(super) fn is_share(&self, e: &Expr) -> bool {
        is_share(e, &|i| match self.defines.get(i).map(|d| &d.state) {
            Some(DefineState::Done(x)) => Some(x),
            _ => None,
        })
    }

    pub(super) fn call(
        &mut self,
        e: &ast::Expr,
        name: &ast::Ident,
        args: &[ast::Arg],
        cx: &Cx,
    ) -> Expr {
        let Some(&(en, _, func)) = FUNCTIONS
            .iter()
            .find(|(en, zh, _)| *en == name.name || *zh == name.name)
        else {
            let names = FUNCTIONS.iter().flat_map(|(en, zh, _)| [*en, *zh]);
            let help = did_you_mean(&name.name, names).unwrap_or_else(|| {
                "the functions are count, exists, rate, sum, avg, min, max, days_since, days_until, present, missing".into()
            });
            self.error(
                Diagnostic::new(
                    Code::UnknownFunction,
                    cx.file,
                    name.span.clone(),
                    format!("unknown function `{}`", name.name),
                )
                .label("no function of this name")
                .help(help),
            );
            // Its arguments are not checked: what they should be is unknown.
            return error_expr(cx.file, e.span.clone());
        };
        let mk = |kind: ExprKind, ty: Ty| Expr {
            kind,
            ty,
            file: cx.file,
            span: e.span.clone(),
        };
        let arity_error = |this: &mut Self, want: &str| {
            this.error(
                Diagnostic::new(
                    Code::BadArguments,
                    cx.file,
                    e.span.clone(),
                    format!("`{}` takes {want}", name.name),
                )
                .label(format!(
                    "given {} argument{}",
                    args.len(),
                    if args.len() == 1 { "" } else { "s" }
                ))
                .help(usage(en)),
            );
            error_expr(cx.file, e.span.clone())
        };
        match func {
            Func::DaysSince
            | Func::DaysUntil
            | Func::WorkdaysSince
            | Func::WorkdaysUntil
            | Func::Present
            | Func::Missing => {
                if args.len() != 1 {
                    return arity_error(self, "one argument");
                }
                if let Some((kw, _)) = &args[0].filter {
                    self.error(
                        Diagnostic::new(
                            Code::BadArguments,
                            cx.file,
                            kw.0.clone(),
                            format!(
                                "`{}` takes a value, not a collection with `where`",
                                name.name
                            ),
                        )
                        .help(usage(en)),
                    );
                }
                let x = self.expr(&args[0].expr, cx);
                match func {
                    Func::Present => mk(ExprKind::Present(Box::new(x)), Ty::Bool),
                    Func::Missing => mk(ExprKind::Missing(Box::new(x)), Ty::Bool),
                    _ => {
                        if !matches!(x.ty, Ty::Date | Ty::Error) {
                            self.error(
                                Diagnostic::new(
                                    Code::TypeMismatch,
                                    cx.file,
                                    args[0].expr.span.clone(),
                                    format!("`{}` needs a date", name.name),
                                )
                                .label(format!("this is {}", x.ty.describe()))
                                .help(usage(en)),
                            );
                        }
                        let x = Box::new(x);
                        let kind = match func {
                            Func::DaysSince => ExprKind::DaysSince(x),
                            Func::DaysUntil => ExprKind::DaysUntil(x),
                            Func::WorkdaysSince => ExprKind::WorkdaysSince(x),
                            _ => ExprKind::WorkdaysUntil(x),
                        };
                        mk(kind, Ty::Number)
                    }
                }
            }
            Func::Agg(agg) => {
                let with_value = matches!(
                    agg,
                    AggFunc::Sum | AggFunc::Avg | AggFunc::Min | AggFunc::Max
                );
                let want = if with_value { 2 } else { 1 };
                if args.len() != want {
                    return arity_error(
                        self,
                        if with_value {
                            "a collection and a value: sum(inspections, count(problems))"
                        } else {
                            "one collection"
                        },
                    );
                }
                let Some(coll) = self.collection_arg(&args[0], cx, en) else {
                    return error_expr(cx.file, e.span.clone());
                };
                let mut inner = cx.clone();
                inner.scopes.push(coll.element());
                let filter = args[0].filter.as_ref().map(|(_, f)| {
                    let x = self.expr(f, &inner);
                    self.expect_bool(&x, f, &inner, "`where` takes a condition");
                    Box::new(x)
                });
                if agg == AggFunc::Rate && filter.is_none() {
                    self.error(
                        Diagnostic::new(Code::BadArguments, cx.file, args[0].span.clone(), "`rate` needs a condition: the share of the collection for which it holds")
                            .help("write e.g. `rate(problems where status = \"rectified\")`"),
                    );
                }
                let mut ty = match agg {
                    AggFunc::Exists => Ty::Bool,
                    _ => Ty::Number,
                };
                let value = if with_value {
                    if let Some((kw, _)) = &args[1].filter {
                        self.error(
                            Diagnostic::new(
                                Code::BadArguments,
                                cx.file,
                                kw.0.clone(),
                                "`where` belongs to the collection, the first argument",
                            )
                            .help(usage(en)),
                        );
                    }
                    let v = self.expr(&args[1].expr, &inner);
                    let fits = match agg {
                        AggFunc::Min | AggFunc::Max => v.ty.is_numeric() || v.ty == Ty::Date,
                        _ => v.ty.is_numeric(),
                    };
                    if !fits {
                        self.error(
                            Diagnostic::new(
                                Code::TypeMismatch,
                                cx.file,
                                args[1].expr.span.clone(),
                                format!(
                                    "`{}` needs a number{}",
                                    name.name,
                                    if matches!(agg, AggFunc::Min | AggFunc::Max) {
                                        " or a date"
                                    } else {
                                        ""
                                    }
                                ),
                            )
                            .label(format!("this is {}", v.ty.describe()))
                            .help(usage(en)),
                        );
                    }
                    if v.ty == Ty::Date && matches!(agg, AggFunc::Min | AggFunc::Max) {
                        ty = Ty::Date;
                    }
                    Some(Box::new(v))
                } else {
                    None
                };
                mk(
                    ExprKind::Aggregate {
                        func: agg,
                        coll,
                        filter,
                        value,
                    },
                    ty,
                )
            }
        }
    }

    pub(super) fn collection_arg(
        &mut self,
        arg: &ast::Arg,
        cx: &Cx,
        func: &str,
    ) -> Option<CollPath> {
        let ast::ExprKind::Path(p) = &arg.expr.kind else {
            let x = self.expr(&arg.expr, cx);
            if x.ty != Ty::Error {
                self.not_a_collection(cx, &arg.expr.span, &x.ty.describe(), func);
            }
            return None;
        };
        match self.resolve(p, cx) {
            Resolved::Collection(c) => Some(c),
            Resolved::Value(_, ty) => {
                self.not_a_collection(cx, &p.span, &ty.describe(), func);
                None
            }
            Resolved::Error => None,
        }
    }

    pub(super) fn not_a_collection(&mut self, cx: &Cx, span: &Span, what: &str, func: &str) {
        let entity = cx.scopes[cx.scopes.len() - 1];
        let colls: Vec<&str> = entity.def().collections.iter().map(|c| c.name).collect();
        let help = if colls.is_empty() {
            format!("{func} takes a collection, and {} has none", entity.a())
        } else {
            format!(
                "{func} takes a collection; {} has {}",
                entity.a(),
                colls.join(", ")
            )
        };
        self.error(
            Diagnostic::new(
                Code::NotACollection,
                cx.file,
                span.clone(),
                format!("`{}` is not a collection", self.sources.text(cx.file, span)),
            )
            .label(format!("this is {what}"))
            .help(help),
        );
    }

    // ───────────────────────────── paths ─────────────────────────────
}
