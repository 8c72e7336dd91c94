//! What a notice says: a policy template rendered at firing time, the
//! built-in notice (rule, subject and facts) when a rule names none, and the
//! notice to a task's assignee with its iCalendar entry. Values from the
//! ledger never reach a header unescaped: subjects are made one line.

use crate::lang::ir::{Policy, Rule, Template, Ty};
use crate::value::Value;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value as Json};

/// A rendered notice.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

/// Everything a notice of one firing may show.
#[derive(Clone, Copy)]
pub struct NoticeContext<'a> {
    pub policy: &'a Policy,
    pub rule: &'a Rule,
    pub subject_id: &'a str,
    pub today: NaiveDate,
    /// The facts the condition read: label, value, type.
    pub facts: &'a [(String, Value, Ty)],
    /// The values the rule's templates read: path, value, type.
    pub values: &'a [(String, Value, Ty)],
    /// For a chat message: ledger text is made Markdown-safe.
    pub chat: bool,
}

impl NoticeContext<'_> {
    fn display(&self, v: &Value, ty: Ty) -> String {
        self.safe(&v.display(ty, |k| self.policy.task_kind_label(k)))
    }

    fn safe(&self, text: &str) -> String {
        if self.chat {
            chat_safe(text)
        } else {
            text.to_string()
        }
    }

    fn rule_title(&self) -> &str {
        self.rule.title.as_deref().unwrap_or(&self.rule.name)
    }

    /// The template context: the subject under its entity name (nested
    /// along the paths), `rule`, `today` and `facts`.
    fn template_context(&self) -> minijinja::Value {
        let mut root = Map::new();
        for (path, v, ty) in self.values {
            let text = Json::String(self.display(v, *ty));
            let value = match (v, ty) {
                (Value::Number(_), _) => v.to_json(),
                _ => text,
            };
            insert_path(&mut root, path, value);
        }
        let facts: Map<String, Json> = self
            .facts
            .iter()
            .map(|(label, v, ty)| (label.clone(), Json::String(self.display(v, *ty))))
            .collect();
        root.insert(
            "rule".into(),
            serde_json::json!({"name": self.rule.name, "title": self.rule_title()}),
        );
        root.insert("today".into(), Json::String(self.today.to_string()));
        root.insert("facts".into(), Json::Object(facts));
        minijinja::Value::from(minijinja::value::Serde(Json::Object(root)))
    }

    /// A policy template, rendered.
    pub fn render(&self, t: &Template) -> Result<Rendered, minijinja::Error> {
        let env = crate::lang::template::environment();
        let ctx = self.template_context();
        let subject = env.render_str(&t.subject, ctx.clone())?;
        let body = env.render_str(&t.body, ctx)?;
        Ok(Rendered {
            subject: one_line(&subject),
            body,
        })
    }

    /// The built-in notice: the rule, the subject and the facts.
    pub fn default_notice(&self) -> Rendered {
        let entity = self.rule.entity.def().zh;
        let mut body = format!(
            "{}\n\n规则：{}\n对象：{entity} {}\n日期：{}\n依据：\n",
            self.rule_title(),
            self.rule.name,
            self.safe(self.subject_id),
            self.today
        );
        body.push_str(&self.facts_lines());
        body.push_str("\n—— 巡察整改督办（duban）\n");
        Rendered {
            subject: one_line(&format!(
                "【督办】{}：{entity} {}",
                self.rule_title(),
                self.safe(self.subject_id)
            )),
            body,
        }
    }

    /// The facts as people read them: label and value.
    pub fn facts_shown(&self) -> Vec<(String, String)> {
        self.facts
            .iter()
            .map(|(label, v, ty)| (label.clone(), self.display(v, *ty)))
            .collect()
    }

    /// The facts as a notice lists them, a line each.
    fn facts_lines(&self) -> String {
        self.facts_shown()
            .iter()
            .map(|(label, value)| format!("  · {label}：{value}\n"))
            .collect()
    }

    /// The notice to the approver of request `id`: what would go out, the
    /// facts, and where to decide.
    pub fn approval_request(&self, r: &RequestInfo<'_>) -> Rendered {
        let entity = self.rule.entity.def().zh;
        let mut body = format!(
            "{} 同志：\n\n督办规则“{}”对 {entity} {} 作出以下处理，须经您审批后执行：\n",
            r.approver_name,
            self.rule_title(),
            self.subject_id,
        );
        for line in r.actions {
            body.push_str(&format!("  · {line}\n"));
        }
        body.push_str("依据：\n");
        body.push_str(&self.facts_lines());
        if let Some(by) = r.decide_by {
            body.push_str(&format!("\n请于 {by} 前作出决定。"));
        }
        let decide = match &r.link {
            Some(link) => format!("审批：{link}"),
            None => format!(
                "审批：duban approvals approve {id} [--note …]；不同意：duban approvals reject {id} --reason …",
                id = r.id
            ),
        };
        body.push_str(&format!(
            "\n审批编号：{}。{decide}\n\n—— 巡察整改督办（duban）\n",
            r.id
        ));
        Rendered {
            subject: one_line(&format!(
                "【督办·待审批】{}：{entity} {}",
                self.rule_title(),
                self.subject_id
            )),
            body,
        }
    }

    /// The notice to a task's assignee.
    pub fn task_notice(&self, task: &TaskInfo<'_>) -> Rendered {
        let entity = self.rule.entity.def().zh;
        let mut body = format!(
            "{} 同志：\n\n根据督办规则“{}”，请于 {} 前对 {} 开展{}。\n\n事由：{entity} {}\n依据：\n",
            task.assignee_name,
            self.rule_title(),
            task.due_text(),
            task.target_name,
            task.kind_label,
            self.subject_id,
        );
        body.push_str(&self.facts_lines());
        let record = match &task.link {
            Some(link) => format!("完成后请在督办工作台登记结果：{link}"),
            None => format!(
                "完成后请登记结果：duban tasks done {} --outcome \"…\"",
                task.id
            ),
        };
        body.push_str(&format!(
            "\n任务编号：{}。{record}\n日程已附于本邮件（.ics）。\n\n—— 巡察整改督办（duban）\n",
            task.id
        ));
        Rendered {
            subject: one_line(&format!(
                "【督办】请开展{}：{}（截止 {}）",
                task.kind_label,
                task.target_name,
                task.due_text()
            )),
            body,
        }
    }
}

/// What a task notice names.
pub struct TaskInfo<'a> {
    pub id: &'a str,
    pub kind_label: &'a str,
    pub target_name: &'a str,
    pub assignee_name: &'a str,
    /// None while the task awaits approval: its due date is counted from
    /// the day it is approved, and the notice says [`DUE_ON_APPROVAL`].
    pub due: Option<NaiveDate>,
    /// The task's page on the workbench, when it has a public address.
    pub link: Option<String>,
}

impl TaskInfo<'_> {
    fn due_text(&self) -> String {
        match self.due {
            Some(d) => d.to_string(),
            None => DUE_ON_APPROVAL.to_string(),
        }
    }
}

/// Stands for the due date in a held task notice until its request is
/// approved; then the date takes its place. Private-use characters: no
/// ledger or policy text holds them.
pub const DUE_ON_APPROVAL: &str = "\u{E000}due\u{E001}";

/// A held notice's text with the due date filled in (or, while pending,
/// with `pending` in its place).
pub fn fill_due(text: &str, due: &str) -> String {
    text.replace(DUE_ON_APPROVAL, due)
}

/// What the approver's notice names.
pub struct RequestInfo<'a> {
    pub id: &'a str,
    pub approver_name: &'a str,
    /// The held actions, in words.
    pub actions: &'a [String],
    pub decide_by: Option<NaiveDate>,
    /// The request's page on the workbench, when it has a public address.
    pub link: Option<String>,
}

/// An all-day iCalendar entry on task `id`'s due date.
pub fn task_ics(
    id: &str,
    due: NaiveDate,
    summary: &str,
    description: &str,
    stamp: DateTime<Utc>,
    domain: &str,
) -> String {
    use icalendar::{Calendar, Component, Event, EventLike};
    let event = Event::new()
        .uid(&format!("{id}@{domain}"))
        .timestamp(stamp)
        .summary(summary)
        .description(description)
        .all_day(due)
        .done();
    Calendar::new()
        .name("督办任务")
        .push(event)
        .done()
        .to_string()
}

/// A header value on one line: control characters (CR, LF …) become spaces,
/// so ledger text cannot add a header.
pub fn one_line(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Ledger text as it may stand in a chat message (WeCom and DingTalk
/// Markdown): the characters that make emphasis, links, headings, quotes,
/// HTML or a mention (`@13800000000`, `<@user>`) become their full-width
/// forms, and `://` loses what makes a bare link. A clerk reads the same
/// text; the robot finds no markup in it.
pub fn chat_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '@' | '<' | '>' | '[' | ']' | '(' | ')' | '*' | '_' | '#' | '`' | '!' | '|' | '~'
            | '\\' => {
                out.push(char::from_u32(c as u32 + 0xFEE0).unwrap_or(c));
            }
            _ => out.push(c),
        }
    }
    out.replace("://", "：//")
}

fn insert_path(root: &mut Map<String, Json>, path: &str, value: Json) {
    let mut segs = path.split('.').peekable();
    let mut at = root;
    while let Some(seg) = segs.next() {
        if segs.peek().is_none() {
            // An object already there (a longer path) wins over the id.
            at.entry(seg.to_string()).or_insert(value);
            return;
        }
        let entry = at
            .entry(seg.to_string())
            .or_insert_with(|| Json::Object(Map::new()));
        if !entry.is_object() {
            *entry = Json::Object(Map::new());
        }
        match entry {
            Json::Object(m) => at = m,
            _ => return,
        }
    }
}

/// The email with a one-time sign-in link to the workbench.
pub fn sign_in_link(name: &str, url: &str, minutes: i64) -> Rendered {
    Rendered {
        subject: "【督办】工作台登录链接".to_string(),
        body: format!(
            "{name} 同志：\n\n请点击以下链接登录督办工作台（{minutes} 分钟内有效，只能使用一次）：\n\n{url}\n\n如果不是您本人申请，请忽略本邮件。\n\n—— 巡察整改督办（duban）\n"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_removes_header_breaks() {
        assert_eq!(
            one_line("张三\r\nBcc: evil@example.org"),
            "张三 Bcc: evil@example.org"
        );
    }

    #[test]
    fn paths_nest() {
        let mut m = Map::new();
        insert_path(
            &mut m,
            "problem.inspection.organization.name",
            Json::String("局".into()),
        );
        insert_path(
            &mut m,
            "problem.deadline",
            Json::String("2026-01-01".into()),
        );
        assert_eq!(m["problem"]["inspection"]["organization"]["name"], "局");
        assert_eq!(m["problem"]["deadline"], "2026-01-01");
    }
}
