//! Name resolution: a path's segments against the schema and the `define`s,
//! inside `where` the collection element first; did-you-mean on unknown names.

use super::*;

impl Checker<'_> {
    pub(super) fn resolve(&mut self, p: &ast::Path, cx: &Cx) -> Resolved {
        let Some(first) = p.segments.first() else {
            return Resolved::Error;
        };
        // The innermost scope that knows the first name.
        let found = (0..cx.scopes.len())
            .rev()
            .find(|&s| self.knows(cx.scopes[s], &first.name));
        let Some(scope) = found else {
            self.unknown_member(cx, cx.scopes[cx.scopes.len() - 1], first, true);
            return Resolved::Error;
        };
        let mut entity = cx.scopes[scope];
        let mut refs: Vec<FieldId> = Vec::new();
        let last = p.segments.len() - 1;
        for (i, seg) in p.segments.iter().enumerate() {
            if let Some(f) = FieldId::of(entity, &seg.name) {
                let ty = field_ty(f);
                if i == last {
                    return Resolved::Value(
                        FieldPath {
                            scope,
                            refs,
                            end: PathEnd::Field(f),
                        },
                        ty,
                    );
                }
                match f.def().ty {
                    FieldType::Ref(next) => {
                        refs.push(f);
                        entity = next;
                    }
                    _ => {
                        let next = &p.segments[i + 1];
                        self.error(
                            Diagnostic::new(Code::UnknownField, cx.file, next.span.clone(), format!("`{}` is {}, it has no field `{}`", seg.name, ty.describe(), next.name))
                                .label("nothing to look into here")
                                .help(format!("only references (such as `inspection` or `responsible`) lead on to other records; `{}` ends the path", seg.name)),
                        );
                        return Resolved::Error;
                    }
                }
            } else if let Some(c) = CollId::of(entity, &seg.name) {
                if i == last {
                    return Resolved::Collection(CollPath {
                        scope,
                        refs,
                        coll: c,
                    });
                }
                let next = &p.segments[i + 1];
                self.error(
                    Diagnostic::new(
                        Code::UnknownField,
                        cx.file,
                        next.span.clone(),
                        format!(
                            "`{}` is a collection of {}s, it has no field `{}`",
                            seg.name,
                            c.def().element,
                            next.name
                        ),
                    )
                    .label("a collection holds many records")
                    .help(format!(
                        "look into its members with a function: `exists({} where {} …)`",
                        seg.name, next.name
                    )),
                );
                return Resolved::Error;
            } else if let Some(d) = self.find_define(entity, &seg.name) {
                let ty = self.define_expr(d, Some((cx.file, seg.span.clone())));
                if i == last {
                    return Resolved::Value(
                        FieldPath {
                            scope,
                            refs,
                            end: PathEnd::Define(d),
                        },
                        ty,
                    );
                }
                let next = &p.segments[i + 1];
                self.error(
                    Diagnostic::new(
                        Code::UnknownField,
                        cx.file,
                        next.span.clone(),
                        format!(
                            "`{}` is {}, it has no field `{}`",
                            seg.name,
                            ty.describe(),
                            next.name
                        ),
                    )
                    .help(format!("`{}` ends the path", seg.name)),
                );
                return Resolved::Error;
            } else if self
                .broken_defines
                .contains(&format!("{}.{}", entity.name(), seg.name))
            {
                return Resolved::Error;
            } else {
                self.unknown_member(cx, entity, seg, i == 0);
                return Resolved::Error;
            }
        }
        Resolved::Error
    }

    pub(super) fn knows(&self, entity: Entity, name: &str) -> bool {
        entity.field(name).is_some()
            || entity.collection(name).is_some()
            || self.find_define(entity, name).is_some()
            || self
                .broken_defines
                .contains(&format!("{}.{name}", entity.name()))
    }

    pub(super) fn unknown_member(
        &mut self,
        cx: &Cx,
        entity: Entity,
        seg: &ast::Ident,
        first: bool,
    ) {
        let mut names: Vec<String> = entity.member_names().map(String::from).collect();
        names.extend(
            self.defines
                .iter()
                .filter(|d| d.entity == entity)
                .map(|d| d.name.clone()),
        );
        if first {
            // Outer scopes are in reach too.
            for &outer in &cx.scopes[..cx.scopes.len() - 1] {
                names.extend(outer.member_names().map(String::from));
            }
        }
        let subject = cx.scopes[0].def();
        let subject_prefix = first && (seg.name == subject.name || seg.name == subject.zh);
        let help = if subject_prefix {
            Some(format!(
                "names in a rule for {0} are the {0}'s own fields: leave out `{1}.`",
                cx.scopes[0], seg.name
            ))
        } else {
            keyword_glued_hint(&seg.name)
                .or_else(|| did_you_mean(&seg.name, names.iter().map(String::as_str)))
        };
        let help = help.unwrap_or_else(|| {
            let d = entity.def();
            let fields: Vec<&str> = d
                .fields
                .iter()
                .map(|f| f.name)
                .chain(d.collections.iter().map(|c| c.name))
                .collect();
            format!("{} has: {}", entity.a(), fields.join(", "))
        });
        let scope_note = if first && cx.scopes.len() > 1 {
            format!(
                "unknown field `{}` on {entity} (nor on the records around it)",
                seg.name
            )
        } else {
            format!("unknown field `{}` on {entity}", seg.name)
        };
        self.error(
            Diagnostic::new(Code::UnknownField, cx.file, seg.span.clone(), scope_note)
                .label(format!("not a field of {entity}"))
                .help(help),
        );
    }

    // ───────────────────────────── warnings ─────────────────────────────
}
