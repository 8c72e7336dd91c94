//! Notice templates: parsed as minijinja, every `{{ path }}` checked against
//! the schema from the rule's subject entity.

use super::*;

impl Checker<'_> {
    pub(super) fn check_templates(&mut self) {
        let mut seen: HashMap<String, (usize, Span)> = HashMap::new();
        for (file, item) in self.items() {
            let ast::Item::Template(t) = item else {
                continue;
            };
            let name = &t.name.name;
            if !self.first_declaration(
                &mut seen,
                name,
                &format!("template `{name}`"),
                file,
                &t.name.span,
                "",
            ) {
                continue;
            }
            match self.template(file, t) {
                Some(template) => self.templates.push(template),
                // Its errors are reported; its uses are not errors too.
                None => {
                    self.broken_templates.insert(name.clone());
                }
            }
        }
    }

    pub(super) fn template(&mut self, file: usize, t: &ast::TemplateDecl) -> Option<Template> {
        let mut subject: Option<&ast::Str> = None;
        let mut body: Option<&ast::Str> = None;
        for part in &t.parts {
            let (slot, kw, s, what) = match part {
                ast::TemplatePart::Subject(kw, s) => (&mut subject, kw, s, "subject"),
                ast::TemplatePart::Body(kw, s) => (&mut body, kw, s, "body"),
            };
            if slot.is_some() {
                self.error(
                    Diagnostic::new(
                        Code::RepeatedClause,
                        file,
                        kw.0.clone(),
                        format!("template `{}` has two `{what}`s", t.name.name),
                    )
                    .help(format!("a template has one `{what}`")),
                );
            }
            *slot = Some(s);
        }
        let (Some(subject), Some(body)) = (subject, body) else {
            let missing = if subject.is_none() { "subject" } else { "body" };
            self.error(
                Diagnostic::new(
                    Code::MissingClause,
                    file,
                    t.name.span.clone(),
                    format!("template `{}` has no `{missing}`", t.name.name),
                )
                .help("a template is `template NAME subject \"…\" body \"\"\"…\"\"\"`"),
            );
            return None;
        };
        let mut entity: Option<(Entity, String)> = None;
        let mut paths = Vec::new();
        let mut ok = true;
        let mut per_recipient = false;
        for s in [subject, body] {
            let env = crate::lang::template::environment();
            let vars = match env.template_from_str(&s.value) {
                Ok(tmpl) => tmpl.undeclared_variables(true),
                Err(e) => {
                    let span = e
                        .range()
                        .map(|r| self.span_in_string(file, s, r))
                        .unwrap_or_else(|| s.span.clone());
                    self.error(
                        Diagnostic::new(Code::BadTemplate, file, span, format!("template text does not parse: {}", e.detail().unwrap_or("syntax error")))
                            .help("template text uses `{{ path }}` for values, e.g. {{ problem.deadline }}"),
                    );
                    ok = false;
                    continue;
                }
            };
            let mut vars: Vec<String> = vars.into_iter().collect();
            vars.sort();
            for var in vars {
                per_recipient |= var == "recipient" || var.starts_with("recipient.");
                match self.template_path(file, s, &var, &mut entity) {
                    Some(Some(p)) => paths.push(p),
                    Some(None) => {}
                    None => ok = false,
                }
            }
        }
        ok.then(|| Template {
            name: t.name.name.clone(),
            subject: subject.value.clone(),
            body: body.value.clone(),
            entity: entity.map(|(e, _)| e),
            paths,
            per_recipient,
        })
    }

    /// The span in the file of a byte range inside a string's value.
    pub(super) fn span_in_string(
        &self,
        file: usize,
        s: &ast::Str,
        range: std::ops::Range<usize>,
    ) -> Span {
        let raw = self.sources.text(file, &s.span);
        let needle = s.value.get(range.clone()).unwrap_or("");
        match raw.find(needle).filter(|_| !needle.is_empty()) {
            Some(i) => s.span.start + i..s.span.start + i + needle.len(),
            None => s.span.clone(),
        }
    }

    /// Resolves one `{{ path }}`. `Some(None)`: a global such as `today`;
    /// `None`: an error was reported.
    pub(super) fn template_path(
        &mut self,
        file: usize,
        s: &ast::Str,
        var: &str,
        entity: &mut Option<(Entity, String)>,
    ) -> Option<Option<TemplatePath>> {
        let span = {
            let raw = self.sources.text(file, &s.span);
            match raw.find(var) {
                Some(i) => s.span.start + i..s.span.start + i + var.len(),
                None => s.span.clone(),
            }
        };
        if TEMPLATE_GLOBALS.contains(&var) {
            return Some(None);
        }
        let mut segs = var.split('.');
        let root = segs.next().unwrap_or("");
        let Some(root_entity) = Entity::lookup(root).filter(|e| e.can_be_subject()) else {
            let mut candidates: Vec<&str> = vec![
                "problem",
                "inspection",
                "organization",
                "rule",
                "recipient",
                "today",
                "facts",
                "lang",
            ];
            candidates.extend(["问题", "巡察", "组织"]);
            let help = did_you_mean(root, candidates).unwrap_or_else(|| {
                "a template path starts at the rule's subject (problem, inspection or organization), or is rule.name, rule.title, recipient.name, today, facts or lang".into()
            });
            self.error(
                Diagnostic::new(
                    Code::UnknownTemplatePath,
                    file,
                    span,
                    format!("unknown template path `{var}`"),
                )
                .label(format!("`{root}` is not known here"))
                .help(help),
            );
            return None;
        };
        if let Some((e, first)) = entity.as_ref() {
            if *e != root_entity {
                self.error(
                    Diagnostic::new(Code::UnknownTemplatePath, file, span, format!("template mixes `{first}` and `{root}` paths"))
                        .help("one template serves rules of one subject entity; its paths all start with that entity"),
                );
                return None;
            }
        } else {
            *entity = Some((root_entity, root.to_string()));
        }
        let rest: Vec<&str> = segs.collect();
        if rest.is_empty() {
            let id = FieldId::of(root_entity, "id")?;
            return Some(Some(TemplatePath {
                text: var.to_string(),
                path: FieldPath {
                    scope: 0,
                    refs: vec![],
                    end: PathEnd::Field(id),
                },
            }));
        }
        let idents: Vec<ast::Ident> = rest
            .iter()
            .map(|r| ast::Ident {
                name: r.to_string(),
                span: span.clone(),
            })
            .collect();
        let path = ast::Path {
            segments: idents,
            span: span.clone(),
        };
        let cx = Cx {
            file,
            scopes: vec![root_entity],
        };
        match self.resolve(&path, &cx) {
            Resolved::Value(p, _) => Some(Some(TemplatePath {
                text: var.to_string(),
                path: p,
            })),
            Resolved::Collection(c) => {
                self.error(
                    Diagnostic::new(
                        Code::UnknownTemplatePath,
                        file,
                        span,
                        format!("`{var}` is a collection"),
                    )
                    .label(format!("a list of {}s", c.element()))
                    .help("templates show single values; count it in the rule's condition instead"),
                );
                None
            }
            Resolved::Error => None,
        }
    }

    // ───────────────────────────── rules ─────────────────────────────
}
