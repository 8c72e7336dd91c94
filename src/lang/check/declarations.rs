//! The policy header and the declarations: time zone, schedule, task kinds,
//! `define`s (checked lazily, in dependency order) and entity names.

use super::*;

impl Checker<'_> {
    pub(super) fn policy(&mut self) -> Policy {
        let (name, timezone, schedule) = self.header();
        self.declare_task_kinds();
        self.declare_defines();
        self.check_templates();
        for i in 0..self.defines.len() {
            self.define_expr(i, None);
        }
        let rules = self.rules();
        self.warn_identical_rules(&rules);
        let defines = self
            .defines
            .iter()
            .map(|d| Define {
                entity: d.entity,
                name: d.name.clone(),
                title: d.decl.title.as_ref().map(|t| t.value.clone()),
                expr: match &d.state {
                    DefineState::Done(e) => e.clone(),
                    _ => error_expr(d.file, d.decl.span.clone()),
                },
            })
            .collect();
        let tz = timezone
            .as_deref()
            .and_then(|t| t.parse().ok())
            .unwrap_or(chrono_tz::Tz::UTC);
        Policy {
            name,
            timezone,
            tz,
            schedule,
            task_kinds: std::mem::take(&mut self.task_kinds),
            defines,
            templates: std::mem::take(&mut self.templates),
            rules,
            hash: policy_hash(self.sources),
            sources: SourceMap::default(),
        }
    }

    // ─────────────────────────── declarations ───────────────────────────

    pub(super) fn header(&mut self) -> (Option<String>, Option<String>, Option<Schedule>) {
        let mut seen: Option<(usize, Span)> = None;
        let mut out = (None, None, None);
        for (file, item) in self.items() {
            let ast::Item::Policy(p) = item else { continue };
            if let Some((f0, s0)) = &seen {
                let first = self.location(*f0, s0);
                self.error(
                    Diagnostic::new(
                        Code::Duplicate,
                        file,
                        p.kw.0.clone(),
                        "a second `policy` header",
                    )
                    .label("the policy already has a header")
                    .help(format!(
                        "a policy has at most one header; the first is at {first}"
                    )),
                );
                continue;
            }
            seen = Some((file, p.kw.0.clone()));
            out.0 = Some(p.name.value.clone());
            for opt in &p.options {
                match opt {
                    ast::PolicyOption::Timezone(_, tz) => {
                        if self.check_timezone(file, tz) {
                            out.1 = Some(tz.value.clone());
                        }
                    }
                    ast::PolicyOption::Schedule(_, s, on) => {
                        if self.check_cron(file, s) {
                            out.2 = Some(Schedule {
                                cron: s.value.clone(),
                                workdays: on.is_some(),
                            });
                        }
                    }
                }
            }
        }
        out
    }

    pub(super) fn check_timezone(&mut self, file: usize, tz: &ast::Str) -> bool {
        if tz.value.parse::<chrono_tz::Tz>().is_ok() {
            return true;
        }
        let names = chrono_tz::TZ_VARIANTS.iter().map(|t| t.name());
        let help = did_you_mean(&tz.value, names)
            .unwrap_or_else(|| "use an IANA name such as \"Asia/Shanghai\"".into());
        self.error(
            Diagnostic::new(
                Code::BadTimezone,
                file,
                tz.span.clone(),
                format!("`{}` is not a time zone", tz.value),
            )
            .label("not an IANA time zone name")
            .help(help),
        );
        false
    }

    pub(super) fn check_cron(&mut self, file: usize, s: &ast::Str) -> bool {
        match crate::schedule::Cron::parse(&s.value) {
            Ok(_) => true,
            Err(why) => {
                self.error(
                    Diagnostic::new(
                        Code::BadCron,
                        file,
                        s.span.clone(),
                        format!("`{}` is not a valid schedule", s.value),
                    )
                    .label(why.to_string().lines().last().unwrap_or("").trim().to_string())
                    .help("write cron as \"minute hour day month weekday\", e.g. \"0 9 * * *\" for 09:00 every day, \"0 9 * * 1\" for Mondays"),
                );
                false
            }
        }
    }

    pub(super) fn declare_task_kinds(&mut self) {
        let mut seen: HashMap<String, (usize, Span)> = HashMap::new();
        for (file, item) in self.items() {
            let ast::Item::TaskType(t) = item else {
                continue;
            };
            let name = &t.name.name;
            if schema::standard_task_kind(name).is_some() {
                self.error(
                    Diagnostic::new(
                        Code::Duplicate,
                        file,
                        t.name.span.clone(),
                        format!("`{name}` is a standard task kind"),
                    )
                    .label("already defined by duban")
                    .help("standard kinds need no `tasktype`; pick another name for a new kind"),
                );
                continue;
            }
            if !self.first_declaration(
                &mut seen,
                name,
                &format!("task kind `{name}`"),
                file,
                &t.name.span,
                "",
            ) {
                continue;
            }
            self.task_kinds.push(TaskKind {
                code: name.clone(),
                label: t.label.value.clone(),
            });
        }
    }

    pub(super) fn declare_defines(&mut self) {
        let mut seen: HashMap<String, (usize, Span)> = HashMap::new();
        for (file, item) in self.items() {
            let ast::Item::Define(d) = item else { continue };
            let Some(entity) = self.entity(file, &d.entity) else {
                continue;
            };
            let name = &d.field.name;
            if entity.field(name).is_some() || entity.collection(name).is_some() {
                self.error(
                    Diagnostic::new(
                        Code::Duplicate,
                        file,
                        d.field.span.clone(),
                        format!("{entity} already has a field `{name}`"),
                    )
                    .label("a built-in field of this name exists")
                    .help("give the define a name of its own"),
                );
                continue;
            }
            let key = format!("{entity}.{name}");
            if !self.first_declaration(
                &mut seen,
                &key,
                &format!("`{key}`"),
                file,
                &d.field.span,
                "",
            ) {
                continue;
            }
            self.defines.push(DefineSlot {
                entity,
                name: name.clone(),
                decl: d,
                file,
                state: DefineState::Unchecked,
            });
        }
    }

    /// The checked expression of define `i`, checking it on first use.
    /// `used_at` is the span of the use that asked, for cycle errors.
    pub(super) fn define_expr(&mut self, i: usize, used_at: Option<(usize, Span)>) -> Ty {
        match &self.defines[i].state {
            DefineState::Done(e) => return e.ty,
            DefineState::Failed => return Ty::Error,
            DefineState::InProgress => {
                let (file, span) = used_at.unwrap_or((
                    self.defines[i].file,
                    self.defines[i].decl.field.span.clone(),
                ));
                let name = format!("{}.{}", self.defines[i].entity, self.defines[i].name);
                self.error(
                    Diagnostic::new(Code::BadDefine, file, span, format!("`{name}` is defined in terms of itself"))
                        .label("this use goes round in a circle")
                        .help("a define may use other defines, but not itself, directly or through others"),
                );
                self.defines[i].state = DefineState::Failed;
                return Ty::Error;
            }
            DefineState::Unchecked => {}
        }
        self.defines[i].state = DefineState::InProgress;
        let slot = &self.defines[i];
        let (decl, file, entity) = (slot.decl, slot.file, slot.entity);
        let cx = Cx {
            file,
            scopes: vec![entity],
        };
        let e = self.expr(&decl.expr, &cx);
        if matches!(self.defines[i].state, DefineState::Failed) {
            return Ty::Error;
        }
        let ty = e.ty;
        self.defines[i].state = DefineState::Done(e);
        ty
    }

    pub(super) fn find_define(&self, entity: Entity, name: &str) -> Option<usize> {
        self.defines
            .iter()
            .position(|d| d.entity == entity && d.name == name)
    }

    pub(super) fn entity(&mut self, file: usize, id: &ast::Ident) -> Option<Entity> {
        if let Some(e) = Entity::lookup(&id.name) {
            return Some(e);
        }
        let names = schema::ENTITIES.iter().flat_map(|d| [d.name, d.zh]);
        let help = keyword_glued_hint(&id.name)
            .or_else(|| did_you_mean(&id.name, names))
            .unwrap_or_else(|| "the entities are organization 组织, person 人员, round 轮次, inspection 巡察, problem 问题, task 任务".into());
        self.error(
            Diagnostic::new(
                Code::UnknownEntity,
                file,
                id.span.clone(),
                format!("unknown entity `{}`", id.name),
            )
            .label("not an entity of the case schema")
            .help(help),
        );
        None
    }

    // ───────────────────────────── templates ─────────────────────────────
}
