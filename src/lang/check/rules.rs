//! Rules and their clauses: subject, condition, actions (tasks, notices),
//! `repeat every`, person paths and task kinds.

use super::*;

impl Checker<'_> {
    pub(super) fn rules(&mut self) -> Vec<Rule> {
        let mut seen: HashMap<String, (usize, Span)> = HashMap::new();
        let mut rules = Vec::new();
        for (file, item) in self.items() {
            let ast::Item::Rule(r) = item else { continue };
            let name = &r.name.name;
            let why = "; rule names must be unique, since episodes are kept by rule name";
            if !self.first_declaration(
                &mut seen,
                name,
                &format!("rule `{name}`"),
                file,
                &r.name.span,
                why,
            ) {
                continue;
            }
            if let Some(rule) = self.rule(file, r) {
                rules.push(rule);
            }
        }
        rules
    }

    pub(super) fn rule(&mut self, file: usize, r: &ast::RuleDecl) -> Option<Rule> {
        let mut for_: Option<&ast::Ident> = None;
        let mut when: Option<&ast::Expr> = None;
        let mut schedule: Option<(&ast::Str, bool)> = None;
        let mut repeat: Option<&ast::Duration> = None;
        let mut approval: Option<(&ast::Approver, Option<&ast::Duration>)> = None;
        let mut thens: Vec<&ast::Action> = Vec::new();
        let mut harsh = false;
        for c in &r.clauses {
            let (name, dup) = match &c.kind {
                ast::ClauseKind::For(_, e) => ("for", for_.replace(e).is_some()),
                ast::ClauseKind::When(_, e) => ("when", when.replace(e).is_some()),
                ast::ClauseKind::Schedule(_, s, on) => {
                    ("schedule", schedule.replace((s, on.is_some())).is_some())
                }
                ast::ClauseKind::Repeat(_, _, d) => ("repeat every", repeat.replace(d).is_some()),
                ast::ClauseKind::Approval {
                    approver, within, ..
                } => (
                    "approval",
                    approval
                        .replace((approver, within.as_ref().map(|(_, d)| d)))
                        .is_some(),
                ),
                ast::ClauseKind::Then(_, a) => {
                    thens.push(a);
                    ("then", false)
                }
                ast::ClauseKind::Harsh(_) => ("harsh", std::mem::replace(&mut harsh, true)),
            };
            if dup {
                let help = if name == "when" {
                    "join the conditions with `and` (且) in one `when`"
                } else {
                    "give this clause once"
                };
                self.error(
                    Diagnostic::new(
                        Code::RepeatedClause,
                        file,
                        c.span.clone(),
                        format!("rule `{}` has a second `{name}`", r.name.name),
                    )
                    .label("given again here")
                    .help(help),
                );
            }
        }
        let missing = |what: &str, help: &str| {
            Diagnostic::new(
                Code::MissingClause,
                file,
                r.name.span.clone(),
                format!("rule `{}` has no `{what}` clause", r.name.name),
            )
            .label(format!("`{what}` is required"))
            .help(help.to_string())
        };
        if for_.is_none() {
            self.error(missing(
                "for",
                "add `for problem` (or inspection, organization): the records the rule looks at",
            ));
        }
        if when.is_none() {
            self.error(missing(
                "when",
                "add `when CONDITION`, e.g. `when overdue_days >= 30`",
            ));
        }
        if thens.is_empty() {
            self.error(missing(
                "then",
                "add `then task KIND with PERSON` or `then notify PERSON`",
            ));
        }
        if let Some((s, _)) = schedule {
            self.check_cron(file, s);
        }
        let entity = for_.and_then(|id| self.entity(file, id))?;
        if !entity.can_be_subject() {
            let span = for_.map(|f| f.span.clone()).unwrap_or_default();
            self.error(
                Diagnostic::new(Code::NotASubject, file, span, format!("a rule cannot be `for {entity}`"))
                    .label("tasks and notices concern a problem, an inspection or an organization")
                    .help("write `for problem`, `for inspection` or `for organization`; reach others through them"),
            );
            return None;
        }
        let cx = Cx {
            file,
            scopes: vec![entity],
        };
        let when_ir = when.map(|w| self.condition(w, &cx));
        let actions: Vec<Action> = thens
            .into_iter()
            .filter_map(|a| self.action(a, &cx, &r.name.name))
            .collect();
        let repeat = repeat.and_then(|d| self.whole_days(file, d, "repeat every"));
        let approval = match approval {
            Some((who, within)) => Some(self.approval(who, within, &cx)?),
            None => None,
        };
        let when_ir = when_ir?;
        let facts = facts_of(&when_ir, self.sources);
        Some(Rule {
            name: r.name.name.clone(),
            title: r.title.as_ref().map(|t| t.value.clone()),
            entity,
            schedule: schedule.map(|(s, workdays)| Schedule {
                cron: s.value.clone(),
                workdays,
            }),
            when: when_ir,
            actions,
            repeat,
            approval,
            harsh,
            facts,
            file,
            span: r.name.span.clone(),
        })
    }

    pub(super) fn condition(&mut self, w: &ast::Expr, cx: &Cx) -> Expr {
        let e = self.expr(w, cx);
        if !matches!(e.ty, Ty::Bool | Ty::Error) {
            let text = self.sources.text(cx.file, &w.span).to_string();
            self.error(
                Diagnostic::new(
                    Code::TypeMismatch,
                    cx.file,
                    w.span.clone(),
                    "the condition is not true or false",
                )
                .label(format!("this is {}", e.ty.describe()))
                .help(format!("compare it with something, e.g. `{text} >= 30`")),
            );
        }
        e
    }

    pub(super) fn whole_days(
        &mut self,
        file: usize,
        d: &ast::Duration,
        what: &str,
    ) -> Option<Days> {
        let days = d.days();
        if days.fract() != 0.0 || days < 1.0 {
            self.error(
                Diagnostic::new(
                    Code::BadLiteral,
                    file,
                    d.span.clone(),
                    format!("`{what}` needs a whole number of days, at least 1"),
                )
                .help("write e.g. `7 days`, `2 weeks` or `5 workdays`"),
            );
            return None;
        }
        Some(Days {
            count: days as i64,
            working: d.unit == ast::Unit::Workdays,
        })
    }

    /// `approval by PATH|"ID" [within DURATION]`: PATH must lead to a person.
    fn approval(
        &mut self,
        who: &ast::Approver,
        within: Option<&ast::Duration>,
        cx: &Cx,
    ) -> Option<Approval> {
        let approver = match who {
            ast::Approver::Path(p) => Approver::Path(self.person_path(p, cx)?),
            ast::Approver::Id(s) if s.value.trim().is_empty() => {
                self.error(
                    Diagnostic::new(Code::BadLiteral, cx.file, s.span.clone(), "the approver's id is empty")
                        .help("write a person's id, e.g. `approval by \"U0000001\"`, or a path such as `inspection.organization.secretary`"),
                );
                return None;
            }
            ast::Approver::Id(s) => Approver::Id(s.value.trim().to_string()),
        };
        let within = match within {
            Some(d) => Some(self.whole_days(cx.file, d, "within")?),
            None => None,
        };
        Some(Approval { approver, within })
    }

    pub(super) fn action(&mut self, a: &ast::Action, cx: &Cx, rule: &str) -> Option<Action> {
        match a {
            ast::Action::Task {
                kind,
                target,
                by,
                due,
                ..
            } => {
                let kind_code = self.task_kind(cx.file, &kind.name, &kind.span);
                let target = self.person_path(target, cx);
                let assignee = match by {
                    Some((_, p)) => self.person_path(p, cx),
                    None => Some(default_assignee(cx.scopes[0])),
                };
                let due = match due {
                    Some((_, d)) => self.whole_days(cx.file, d, "due"),
                    None => Some(Days {
                        count: 7,
                        working: false,
                    }),
                };
                Some(Action::Task {
                    kind: kind_code?,
                    target: target?,
                    assignee: assignee?,
                    due: due?,
                })
            }
            ast::Action::Notify {
                to, using, channel, ..
            } => {
                let mut recipients = Vec::new();
                let mut ok = true;
                let mentions = channel.iter().flat_map(|c| c.mentioning.iter());
                for p in mentions.flat_map(|(_, people)| people) {
                    match self.person_path(p, cx) {
                        Some(pp) => recipients.push(Recipient::Person(pp)),
                        None => ok = false,
                    }
                }
                for r in to {
                    match r {
                        ast::Recipient::Person(p) => match self.person_path(p, cx) {
                            Some(pp) => recipients.push(Recipient::Person(pp)),
                            None => ok = false,
                        },
                        ast::Recipient::Email(s) => {
                            if crate::text::is_email(&s.value) {
                                recipients.push(Recipient::Email(s.value.clone()));
                            } else {
                                ok = false;
                                self.error(
                                    Diagnostic::new(Code::BadEmail, cx.file, s.span.clone(), format!("`{}` is not an email address", s.value))
                                        .help("write an address such as \"office@example.org\", or a path to a person such as `responsible`"),
                                );
                            }
                        }
                    }
                }
                let template = match using {
                    Some((_, t)) => self.template_use(cx, t, rule),
                    None => Some(None),
                };
                (ok).then_some(())?;
                Some(Action::Notify {
                    to: recipients,
                    template: template?,
                    channel: channel.as_ref().map(|c| ChannelRef {
                        name: c.name.name.clone(),
                        file: cx.file,
                        span: c.name.span.clone(),
                    }),
                })
            }
        }
    }

    /// `Some(Some(name))` when the template exists and fits the rule.
    pub(super) fn template_use(
        &mut self,
        cx: &Cx,
        t: &ast::Ident,
        rule: &str,
    ) -> Option<Option<String>> {
        if self.broken_templates.contains(&t.name) {
            return None;
        }
        let Some(template) = self.templates.iter().find(|x| x.name == t.name) else {
            let names: Vec<&str> = self.templates.iter().map(|x| x.name.as_str()).collect();
            let help = did_you_mean(&t.name, names.iter().copied()).unwrap_or_else(|| {
                if names.is_empty() {
                    "declare it with `template NAME subject \"…\" body \"…\"`, or leave out `using` for the built-in notice".into()
                } else {
                    format!("the templates are: {}", names.join(", "))
                }
            });
            self.error(
                Diagnostic::new(
                    Code::UnknownTemplate,
                    cx.file,
                    t.span.clone(),
                    format!("unknown template `{}`", t.name),
                )
                .label("no template of this name")
                .help(help),
            );
            return None;
        };
        if let Some(e) = template.entity.filter(|e| *e != cx.scopes[0]) {
            let subject = cx.scopes[0];
            self.error(
                Diagnostic::new(
                    Code::UnknownTemplatePath,
                    cx.file,
                    t.span.clone(),
                    format!(
                        "template `{}` is about {}, rule `{rule}` is for {subject}",
                        t.name,
                        e.a()
                    ),
                )
                .label(format!("its paths start with `{e}`"))
                .help(format!("use a template whose paths start with `{subject}`")),
            );
            return None;
        }
        Some(Some(t.name.clone()))
    }

    pub(super) fn task_kind(&mut self, file: usize, name: &str, span: &Span) -> Option<String> {
        if let Some((code, _)) = schema::standard_task_kind(name) {
            return Some(code.to_string());
        }
        if let Some(k) = self
            .task_kinds
            .iter()
            .find(|k| k.code == name || k.label == name)
        {
            return Some(k.code.clone());
        }
        if self.broken_kinds.contains(name) {
            return None;
        }
        let mut names: Vec<&str> = schema::STANDARD_TASK_KINDS
            .iter()
            .flat_map(|(c, l)| [*c, *l])
            .collect();
        names.extend(
            self.task_kinds
                .iter()
                .flat_map(|k| [k.code.as_str(), k.label.as_str()]),
        );
        let help = did_you_mean(name, names).unwrap_or_else(|| {
            "declare a new kind with `tasktype NAME \"标签\"`; the standard kinds are reminder_talk 提醒谈话, criticism_education 批评教育, admonishment_talk 诫勉谈话, written_self_criticism 书面检查, criticism_notice 通报批评, interview 约谈, second_rectification 二次整改, accountability 问责, follow_up_visit 回访".into()
        });
        self.error(
            Diagnostic::new(
                Code::UnknownTaskKind,
                file,
                span.clone(),
                format!("unknown task kind `{name}`"),
            )
            .label("not a standard kind nor a `tasktype`")
            .help(help),
        );
        None
    }

    pub(super) fn person_path(&mut self, p: &ast::Path, cx: &Cx) -> Option<PersonPath> {
        let text = p
            .segments
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(".");
        match self.resolve(p, cx) {
            Resolved::Value(
                FieldPath {
                    refs,
                    end: PathEnd::Field(f),
                    ..
                },
                Ty::Ref(Entity::Person),
            ) => {
                let mut refs = refs;
                refs.push(f);
                Some(PersonPath { text, refs })
            }
            Resolved::Error => None,
            Resolved::Value(_, ty) => {
                let help = match ty {
                    Ty::Ref(e) => {
                        let persons: Vec<String> = e
                            .def()
                            .fields
                            .iter()
                            .filter(|f| matches!(f.ty, FieldType::Ref(Entity::Person)))
                            .map(|f| format!("`{text}.{}`", f.name))
                            .collect();
                        format!("{} is not a person; did you mean {}?", e.a(), persons.join(" or "))
                    }
                    _ => "tasks and notices go to people: name a path to a person, such as `responsible` or `inspection.organization.secretary`".into(),
                };
                self.error(
                    Diagnostic::new(
                        Code::NotAPerson,
                        cx.file,
                        p.span.clone(),
                        format!("`{text}` is not a person"),
                    )
                    .label(format!("this is {}", ty.describe()))
                    .help(help),
                );
                None
            }
            Resolved::Collection(c) => {
                self.error(
                    Diagnostic::new(
                        Code::NotAPerson,
                        cx.file,
                        p.span.clone(),
                        format!("`{text}` is a collection, not a person"),
                    )
                    .label(format!("a list of {}s", c.element()))
                    .help("name one person, such as `responsible` or `organization.secretary`"),
                );
                None
            }
        }
    }

    // ─────────────────────────── expressions ───────────────────────────
}
