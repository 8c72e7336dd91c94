//! What a notice says: a policy template rendered at firing time, the
//! built-in notice (rule, subject and facts) when a rule names none, and the
//! notice to a task's assignee with its iCalendar entry. Values from the
//! ledger never reach a header unescaped: subjects are made one line.

use crate::lang::ir::{Policy, Rule, Template, Ty};
use crate::present::{self, Lang};
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
    /// The subject in words ([`present::names::subject`]): never its id.
    pub about: &'a str,
    /// The language the notice is written in.
    pub lang: Lang,
    pub today: NaiveDate,
    /// The facts the condition read: label, value, type.
    pub facts: &'a [(String, Value, Ty)],
    /// The values the rule's templates read: path, value, type.
    pub values: &'a [(String, Value, Ty)],
    /// For a chat message: ledger text is made Markdown-safe.
    pub chat: bool,
}

impl NoticeContext<'_> {
    fn safe(&self, text: &str) -> String {
        if self.chat {
            chat_safe(text)
        } else {
            text.to_string()
        }
    }

    fn rule_title(&self) -> String {
        present::names::titled(self.rule.title.as_deref(), &self.rule.name, self.lang)
    }

    /// What the firing is about, in words: `问题“账目不清”（市财政局）`.
    pub fn about(&self) -> String {
        self.safe(self.about)
    }

    /// Whether a template value at `path` is a share (a define of a
    /// `rate`): shown as a percentage.
    fn is_share_path(&self, path: &str) -> bool {
        self.policy.templates.iter().any(|t| {
            t.paths.iter().any(|p| {
                p.text == path
                    && matches!(p.path.end, crate::lang::ir::PathEnd::Define(i)
                        if self.policy.defines.get(i).is_some_and(|d| self.policy.is_share(&d.expr)))
            })
        })
    }

    /// A ledger value as a template shows it: codes by their label in
    /// Chinese, in words in English.
    fn words(&self, v: &Value, ty: Ty) -> String {
        match (self.lang, v, ty) {
            (Lang::Zh, ..) => v.display(ty, |k| self.policy.task_kind_label(k)),
            (Lang::En, Value::Text(t), Ty::Enum(_)) => present::status(Lang::En, "", t),
            (Lang::En, Value::Text(t), Ty::TaskKind) => {
                present::names::task_kind(Some(self.policy), t, Lang::En)
            }
            (Lang::En, Value::Bool(b), _) => if *b { "yes" } else { "no" }.to_string(),
            (Lang::En, ..) => v.display(ty, |_| None),
        }
    }

    /// The template context: the subject under its entity name (nested
    /// along the paths), `rule`, `today`, `facts` and `recipient`.
    fn template_context(&self, recipient: Option<&str>) -> minijinja::Value {
        let mut root = Map::new();
        for (path, v, ty) in self.values {
            let value = match v {
                Value::Number(x) if self.is_share_path(path) => Json::String(present::percent(*x)),
                Value::Number(x) if x.fract() == 0.0 && x.abs() < 9e15 => {
                    serde_json::json!(*x as i64)
                }
                // At most two decimals: no 0.5938 in a notice.
                Value::Number(x) => serde_json::json!((x * 100.0).round() / 100.0),
                Value::Date(d) => Json::String(present::date_long(*d, self.lang)),
                _ => Json::String(self.safe(&self.words(v, *ty))),
            };
            insert_path(&mut root, path, value);
        }
        let facts: Map<String, Json> = self
            .rule
            .facts
            .iter()
            .zip(self.facts)
            .map(|(f, (label, v, _))| {
                let shown = present::facts::value_words(self.policy, &f.expr, v, self.lang);
                (label.clone(), Json::String(self.safe(&shown)))
            })
            .collect();
        root.insert(
            "rule".into(),
            serde_json::json!({"name": self.rule.name, "title": self.rule_title()}),
        );
        root.insert(
            "today".into(),
            Json::String(present::date_long(self.today, self.lang)),
        );
        root.insert("lang".into(), Json::String(self.lang.code().into()));
        root.insert("facts".into(), Json::Object(facts));
        root.insert(
            "recipient".into(),
            serde_json::json!({"name": recipient.map(|n| self.safe(n)).unwrap_or_default()}),
        );
        minijinja::Value::from(minijinja::value::Serde(Json::Object(root)))
    }

    /// A policy template, rendered; `recipient`: the one person it goes
    /// to, when it greets by `recipient.name`. A greeting left without a
    /// name (` 同志：`) becomes `您好：`.
    pub fn render(
        &self,
        t: &Template,
        recipient: Option<&str>,
    ) -> Result<Rendered, minijinja::Error> {
        let env = crate::lang::template::environment();
        let ctx = self.template_context(recipient);
        let subject = env.render_str(&t.subject, ctx.clone())?;
        let body = env.render_str(&t.body, ctx)?;
        Ok(Rendered {
            subject: one_line(&subject),
            body: mend_greeting(&body, self.lang),
        })
    }

    /// The built-in notice: the rule, what it is about and the facts;
    /// greeting `greeting` (one person by name, several together).
    pub fn default_notice(&self, greeting: &str) -> Rendered {
        let (title, today, about) = (
            self.rule_title(),
            present::date_long(self.today, self.lang),
            self.about(),
        );
        let mut body = match self.lang {
            Lang::Zh => {
                format!("{greeting}\n\n督办规则“{title}”于 {today} 对{about}生效。\n依据：\n")
            }
            Lang::En => format!(
                "{greeting}\n\nThe rule “{title}” applies to {about} as of {today}.\nBecause:\n"
            ),
        };
        body.push_str(&self.facts_lines());
        body.push_str(signature(self.lang));
        let subject = match self.lang {
            Lang::Zh => format!("【督办】{title}：{about}"),
            Lang::En => format!("[Follow-up] {title}: {about}"),
        };
        Rendered {
            subject: one_line(&subject),
            body,
        }
    }

    /// The facts as people read them: label, value and the rule's
    /// threshold (`整改率 59.4%（规则：低于 70%）`).
    pub fn facts_shown(&self) -> Vec<present::FactShown> {
        let values: Vec<Value> = self.facts.iter().map(|(_, v, _)| v.clone()).collect();
        present::facts::facts_shown(self.policy, self.rule, &values, self.lang)
            .into_iter()
            .map(|f| present::FactShown {
                label: self.safe(&f.label),
                value: self.safe(&f.value),
                rule: f.rule.map(|r| self.safe(&r)),
            })
            .collect()
    }

    /// The facts as a notice lists them, a line each.
    fn facts_lines(&self) -> String {
        self.facts_shown()
            .iter()
            .map(|f| format!("  · {}\n", f.line(self.lang)))
            .collect()
    }

    /// The notice to the approver of request `id`: what would go out, the
    /// facts, and where to decide.
    pub fn approval_request(&self, r: &RequestInfo<'_>) -> Rendered {
        let lang = self.lang;
        let (title, about) = (self.rule_title(), self.about());
        let greeting = present::names::greeting(Some(r.approver_name), false, lang);
        let mut body = match lang {
            Lang::Zh => format!(
                "{greeting}\n\n督办规则“{title}”对{about}作出以下处理，须经您审批后执行：\n"
            ),
            Lang::En => format!(
                "{greeting}\n\nThe rule “{title}” would do the following about {about}; it waits for your approval:\n"
            ),
        };
        for line in r.actions {
            body.push_str(&format!("  · {line}\n"));
        }
        body.push_str(lang.pick("依据：\n", "Because:\n"));
        body.push_str(&self.facts_lines());
        if let Some(by) = r.decide_by {
            let by = present::date_long(by, lang);
            body.push_str(&match lang {
                Lang::Zh => format!("\n请于 {by} 前作出决定。"),
                Lang::En => format!("\nPlease decide by {by}."),
            });
        }
        let decide = match (&r.link, lang) {
            (Some(link), Lang::Zh) => format!("请在督办工作台审批（同意或不同意）：\n{link}"),
            (Some(link), Lang::En) => {
                format!("Approve or reject it on the workbench:\n{link}")
            }
            (None, Lang::Zh) => format!(
                "请登录督办工作台，在“待审批”中处理审批请求 {}（同意或不同意）。",
                r.id
            ),
            (None, Lang::En) => format!(
                "Sign in to the workbench and decide request {} under Approvals.",
                r.id
            ),
        };
        body.push_str(&format!("\n\n{decide}\n{}", signature(lang)));
        let subject = match lang {
            Lang::Zh => format!("【督办·待审批】{title}：{about}"),
            Lang::En => format!("[Follow-up · approval] {title}: {about}"),
        };
        Rendered {
            subject: one_line(&subject),
            body,
        }
    }

    /// What the notice to a task's assignee says, as data: rendered now
    /// with its due date, or held until its request is approved and then
    /// rendered with the date counted from that day.
    pub fn task_notice(&self, task: &TaskInfo<'_>) -> TaskNotice {
        TaskNotice {
            id: task.id.to_string(),
            kind: task.kind_label.to_string(),
            target: task.target_name.to_string(),
            assignee: task.assignee_name.to_string(),
            rule: self.rule_title(),
            about: self.about(),
            facts: self
                .facts_shown()
                .iter()
                .map(|f| f.line(self.lang))
                .collect(),
            link: task.link.clone(),
            due_in: task.due_in.clone(),
            lang: self.lang,
        }
    }
}

/// How every notice ends.
fn signature(lang: Lang) -> &'static str {
    lang.pick("\n—— 巡察整改督办\n", "\n— Inspection follow-up office\n")
}

/// A greeting line left without a name (`{{ x.name }} 同志：`, `Dear
/// {{ x.name }},` where there is nobody) becomes `您好：` or `Hello,`.
fn mend_greeting(body: &str, lang: Lang) -> String {
    let mut out = String::with_capacity(body.len());
    for line in body.split_inclusive('\n') {
        let t = line.trim();
        if matches!(
            t,
            "同志：" | "同志:" | "同志，" | "同志," | "Dear ," | "Dear,"
        ) {
            out.push_str(&present::names::greeting(None, false, lang));
            if line.ends_with('\n') {
                out.push('\n');
            }
        } else {
            out.push_str(line);
        }
    }
    out
}

/// What a task notice names.
pub struct TaskInfo<'a> {
    pub id: &'a str,
    pub kind_label: &'a str,
    pub target_name: &'a str,
    pub assignee_name: &'a str,
    /// The task's page on the workbench, when it has a public address.
    pub link: Option<String>,
    /// While the task awaits approval, its time limit in words
    /// (`批准后 7 天内`).
    pub due_in: Option<String>,
}

/// The notice to a task's assignee, as data: what it names, without its
/// due date, which [`TaskNotice::render`] is given (a held notice learns
/// it on approval). Held notices are stored as this, never as text with
/// a stand-in for the date.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaskNotice {
    pub id: String,
    pub kind: String,
    pub target: String,
    pub assignee: String,
    pub rule: String,
    pub about: String,
    /// The facts, a line each, in words.
    pub facts: Vec<String>,
    pub link: Option<String>,
    #[serde(default)]
    pub due_in: Option<String>,
    /// The language it is written in (a notice held before notices had
    /// one: Chinese).
    #[serde(default)]
    pub lang: Lang,
}

impl TaskNotice {
    /// The notice, due on `due`; None: still awaiting approval.
    pub fn render(&self, due: Option<NaiveDate>) -> Rendered {
        let lang = self.lang;
        let (due_long, due_short) = match (due, &self.due_in, lang) {
            (Some(d), _, Lang::Zh) => (
                format!("{} 前", present::date_long(d, lang)),
                format!("截止 {}", present::date_short(d)),
            ),
            (Some(d), _, Lang::En) => (
                format!("by {}", present::date_long(d, lang)),
                format!("due {}", present::date_short(d)),
            ),
            (None, Some(w), _) => (w.clone(), w.clone()),
            (None, None, _) => (
                lang.pick("批准后按期", "in time once approved").to_string(),
                lang.pick("待审批", "awaiting approval").to_string(),
            ),
        };
        let greeting = present::names::greeting(Some(&self.assignee), false, lang);
        let (rule, target, kind, about) = (&self.rule, &self.target, &self.kind, &self.about);
        let mut body = match lang {
            Lang::Zh => format!(
                "{greeting}\n\n根据督办规则“{rule}”，请于 {due_long}对 {target} 开展{kind}。\n\n事由：{about}\n依据：\n"
            ),
            Lang::En => format!(
                "{greeting}\n\nUnder the rule “{rule}”, please carry out {} with {target} {due_long}.\n\nAbout: {about}\nBecause:\n",
                present::names::a(kind)
            ),
        };
        for f in &self.facts {
            body.push_str(&format!("  · {f}\n"));
        }
        let record = match (&self.link, lang) {
            (Some(link), Lang::Zh) => format!("办理后请在督办工作台登记结果：\n{link}"),
            (Some(link), Lang::En) => {
                format!("When it is done, record the outcome on the workbench:\n{link}")
            }
            (None, Lang::Zh) => format!(
                "办理后请登录督办工作台，在“我的任务”中打开任务 {} 登记结果。",
                self.id
            ),
            (None, Lang::En) => format!(
                "When it is done, sign in to the workbench and record the outcome of task {} under My tasks.",
                self.id
            ),
        };
        body.push_str(&format!("\n{record}\n"));
        if due.is_some() {
            body.push_str(lang.pick(
                "日程已附于本邮件（.ics）。\n",
                "A calendar entry is attached (.ics).\n",
            ));
        }
        body.push_str(signature(lang));
        let subject = match lang {
            Lang::Zh => format!("【督办】请开展{kind}：{target}（{due_short}）"),
            Lang::En => format!(
                "[Follow-up] Please carry out {}: {target} ({due_short})",
                present::names::a(kind)
            ),
        };
        Rendered {
            subject: one_line(&subject),
            body,
        }
    }

    /// The notice as a held row stores it.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A held notice as people read it, due on `due` (None: still awaiting
/// approval). A task notice (`task`) is stored as [`TaskNotice`] data; a
/// task notice's row from before, holding text with the stand-in
/// [`DUE_ON_APPROVAL`], has it replaced. Other notices are their text.
pub fn held_notice(subject: &str, body: &str, task: bool, due: Option<NaiveDate>) -> Rendered {
    match serde_json::from_str::<TaskNotice>(body) {
        Ok(n) if task => n.render(due),
        _ if !task => Rendered {
            subject: subject.to_string(),
            body: body.to_string(),
        },
        _ => {
            let d = due.map(|d| d.to_string()).unwrap_or_default();
            Rendered {
                subject: one_line(&subject.replace(DUE_ON_APPROVAL, &d)),
                body: body.replace(DUE_ON_APPROVAL, &d),
            }
        }
    }
}

/// Stood for the due date in a held task notice's text before held
/// notices were stored as data; only rows written then carry it.
const DUE_ON_APPROVAL: &str = "\u{E000}due\u{E001}";

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

/// An all-day iCalendar entry on task `id`'s due date (DTEND the next
/// day: an all-day entry ends where the next day begins).
pub fn task_ics(
    id: &str,
    due: NaiveDate,
    summary: &str,
    description: &str,
    stamp: DateTime<Utc>,
    domain: &str,
    lang: Lang,
) -> String {
    use icalendar::{Calendar, Component, Event, EventLike};
    let event = Event::new()
        .uid(&format!("{id}@{domain}"))
        .timestamp(stamp)
        .summary(summary)
        .description(description)
        .starts(due)
        .ends(due.succ_opt().unwrap_or(due))
        .done();
    Calendar::new()
        .name(lang.pick("督办任务", "Follow-up tasks"))
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

/// The email with a one-time sign-in link to the workbench, in the
/// language of the page it was asked for on.
pub fn sign_in_link(name: &str, url: &str, minutes: i64, lang: Lang) -> Rendered {
    let body = match lang {
        Lang::Zh => format!(
            "请点击以下链接登录督办工作台（{minutes} 分钟内有效，只能使用一次）：\n\n{url}\n\n如果不是您本人申请，请忽略本邮件。"
        ),
        Lang::En => format!(
            "Follow this link to sign in to the duban workbench (it works once, within {minutes} minutes):\n\n{url}\n\nIf you did not ask for it, ignore this email."
        ),
    };
    Rendered {
        subject: lang
            .pick("【督办】工作台登录链接", "[duban] Your sign-in link")
            .to_string(),
        body: format!(
            "{}\n\n{body}\n{}",
            present::names::greeting(Some(name), false, lang),
            signature(lang)
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
