//! Names for codes: statuses, task kinds, the interfaces a change came
//! through, who closed a task, people by name.

use super::Lang;

/// English names of stored codes (Chinese ones come from the schema).
const CODES_EN: &[(&str, &str)] = &[
    ("open", "open"),
    ("rectifying", "rectifying"),
    ("rectified", "rectified"),
    ("done", "done"),
    ("cancelled", "cancelled"),
    ("pending", "awaiting approval"),
    ("approved", "approved"),
    ("rejected", "rejected"),
    ("queued", "waiting to be sent"),
    ("sending", "being sent"),
    ("sent", "sent"),
    ("failed", "not delivered"),
    ("member", "member"),
    ("office", "office"),
    ("admin", "administrator"),
    ("minor", "minor"),
    ("major", "major"),
    ("serious", "serious"),
    ("problem", "problem"),
    ("inspection", "inspection"),
    ("organization", "organization"),
];

const APPROVAL_STATUS_ZH: &[(&str, &str)] = &[
    ("pending", "待审批"),
    ("approved", "已批准"),
    ("rejected", "未批准"),
];

const NOTICE_STATUS_ZH: &[(&str, &str)] = &[
    ("queued", "待发送"),
    ("sending", "发送中"),
    ("sent", "已发送"),
    ("failed", "发送失败"),
];

const ROLE_ZH: &[(&str, &str)] = &[
    ("member", "成员"),
    ("office", "办公室"),
    ("admin", "管理员"),
];

fn find(table: &[(&'static str, &'static str)], code: &str) -> Option<&'static str> {
    table.iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
}

/// How a stored code of `kind` (`task_status`, `problem_status`,
/// `severity`, `subject_type`, `task_kind`, `notice_status`,
/// `approval_status`, `role`) reads in `lang`. A task kind a policy
/// declares is named by [`task_kind`].
pub fn status(lang: Lang, kind: &str, code: &str) -> String {
    use crate::schema::{PROBLEM_STATUS, SEVERITY, SUBJECT_TYPE, TASK_STATUS};
    let zh = match kind {
        "task_status" if code == "pending" => Some("待审批"),
        "task_status" => TASK_STATUS.label_of(code),
        "problem_status" => PROBLEM_STATUS.label_of(code),
        "severity" => SEVERITY.label_of(code),
        "subject_type" => SUBJECT_TYPE.label_of(code),
        "task_kind" => crate::schema::standard_task_kind(code).map(|(_, l)| l),
        "notice_status" => find(NOTICE_STATUS_ZH, code),
        "role" => find(ROLE_ZH, code),
        "approval_status" => find(APPROVAL_STATUS_ZH, code),
        _ => None,
    };
    match lang {
        Lang::Zh => zh.unwrap_or(code).to_string(),
        Lang::En if kind == "task_kind" => code.replace('_', " "),
        Lang::En => find(CODES_EN, code).unwrap_or(code).to_string(),
    }
}

/// A task kind by its label: the standard kinds' from the schema, a
/// `tasktype`'s from the policy; in English, the code in words.
pub fn task_kind(policy: Option<&crate::lang::ir::Policy>, code: &str, lang: Lang) -> String {
    match lang {
        Lang::Zh => policy
            .and_then(|p| p.task_kind_label(code))
            .or_else(|| crate::schema::standard_task_kind(code).map(|(_, l)| l.to_string()))
            .unwrap_or_else(|| code.replace('_', " ")),
        Lang::En => code.replace('_', " "),
    }
}

/// The interface a change came through, in words: `workbench` → 工作台,
/// `command line` → 命令行, `import` → 导入, `email` → 邮件.
pub fn interface(via: &str, lang: Lang) -> String {
    let v = via.trim();
    let (zh, en) = match v {
        "workbench" | "web" => ("工作台", "workbench"),
        "command line" | "cli" => ("命令行", "command line"),
        "import" => ("导入", "import"),
        "email" | "mail" => ("邮件", "email"),
        "chat" | "channel" => ("群消息", "group chat"),
        _ => return v.to_string(),
    };
    lang.pick(zh, en).to_string()
}

/// Who closed or cancelled a task, as stored (`U0000056 张三 (workbench)`,
/// `import tasks.xlsx:3`, a login name from the command line), in words:
/// `张三（工作台）`, `导入（tasks.xlsx 第 3 行）`, `admin（命令行）`.
pub fn closed_by(stored: &str, lang: Lang) -> String {
    let s = stored.trim();
    if let Some(origin) = s.strip_prefix("import ") {
        let place = match origin.rsplit_once(':') {
            Some((file, line)) if line.bytes().all(|b| b.is_ascii_digit()) => match lang {
                Lang::Zh => format!("{file} 第 {line} 行"),
                Lang::En => format!("{file}, line {line}"),
            },
            _ => origin.to_string(),
        };
        return match lang {
            Lang::Zh => format!("导入（{place}）"),
            Lang::En => format!("import ({place})"),
        };
    }
    // `ID NAME (via)`: the name and the interface.
    if let Some((who, via)) = s.strip_suffix(')').and_then(|x| x.rsplit_once(" (")) {
        let name = match who.split_once(' ') {
            Some((id, name)) if looks_like_id(id) && !name.trim().is_empty() => name.trim(),
            _ => who.trim(),
        };
        return match lang {
            Lang::Zh => format!("{name}（{}）", interface(via, lang)),
            Lang::En => format!("{name} ({})", interface(via, lang)),
        };
    }
    match lang {
        Lang::Zh => format!("{s}（命令行）"),
        Lang::En => format!("{s} (command line)"),
    }
}

/// Whether `s` reads as a record id (`U0000056`, `u17`, `P-0012`): a
/// letter then digits, dashes allowed.
fn looks_like_id(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().any(|c| c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Whether `s` has a Chinese character (a CJK ideograph).
pub fn has_han(s: &str) -> bool {
    s.chars()
        .any(|c| matches!(c, '\u{3400}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}'))
}

/// What the policy calls a rule or a define: its title; in English, a
/// title written in Chinese gives way to the name in words
/// (`overdue_reminder` → `overdue reminder`) where the name is not
/// Chinese too.
pub fn titled(title: Option<&str>, name: &str, lang: Lang) -> String {
    match (title, lang) {
        (Some(t), Lang::Zh) => t.to_string(),
        (Some(t), Lang::En) if !has_han(t) || has_han(name) => t.to_string(),
        (_, Lang::En) => name.replace('_', " "),
        (None, Lang::Zh) => name.to_string(),
    }
}

/// A notice's subject record in words, never by id: a problem by its
/// description (`问题“账目不清”（市财政局）`), an inspection by its
/// organization and round (`市财政局的巡察（2026年第一轮巡察）`), an
/// organization by its name. `title`: the description, round or name;
/// `organization`: the organization's name. Only when the record has no
/// words of its own is it named by `id`.
pub fn subject(
    entity: &str,
    id: &str,
    title: Option<&str>,
    organization: Option<&str>,
    lang: Lang,
) -> String {
    let (title, org) = (nonblank(title), nonblank(organization));
    match (entity, lang, title, org) {
        ("problem", Lang::Zh, Some(t), Some(o)) => format!("问题“{t}”（{o}）"),
        ("problem", Lang::Zh, Some(t), None) => format!("问题“{t}”"),
        ("problem", Lang::Zh, None, Some(o)) => format!("{o}的问题 {id}"),
        ("problem", Lang::En, Some(t), Some(o)) => format!("the problem “{t}” ({o})"),
        ("problem", Lang::En, Some(t), None) => format!("the problem “{t}”"),
        ("problem", Lang::En, None, Some(o)) => format!("problem {id} of {o}"),
        ("inspection", Lang::Zh, Some(r), Some(o)) => format!("{o}的巡察（{r}）"),
        ("inspection", Lang::Zh, None, Some(o)) => format!("{o}的巡察"),
        ("inspection", Lang::En, Some(r), Some(o)) => format!("the inspection of {o} ({r})"),
        ("inspection", Lang::En, None, Some(o)) => format!("the inspection of {o}"),
        ("organization", _, Some(n), _) => n.to_string(),
        _ => format!("{} {id}", status(lang, "subject_type", entity)),
    }
}

/// An English noun with its article: `a reminder talk`, `an
/// accountability`.
pub fn a(noun: &str) -> String {
    let vowel = noun
        .chars()
        .next()
        .is_some_and(|c| "aeiouAEIOU".contains(c));
    format!("{} {noun}", if vowel { "an" } else { "a" })
}

fn nonblank(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// A greeting for a notice: by name to one person, to everyone else
/// without one (`各位同志：`, `您好：`), never a blank name.
pub fn greeting(name: Option<&str>, several: bool, lang: Lang) -> String {
    match (name.map(str::trim).filter(|n| !n.is_empty()), lang) {
        (Some(n), Lang::Zh) => format!("{n} 同志："),
        (Some(n), Lang::En) => format!("Dear {n},"),
        (None, Lang::Zh) if several => "各位同志：".to_string(),
        (None, Lang::Zh) => "您好：".to_string(),
        (None, Lang::En) => "Hello,".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_closed_in_words() {
        assert_eq!(
            closed_by("U0000056 张三 (workbench)", Lang::Zh),
            "张三（工作台）"
        );
        assert_eq!(
            closed_by("import tasks.xlsx:3", Lang::Zh),
            "导入（tasks.xlsx 第 3 行）"
        );
        assert_eq!(closed_by("admin", Lang::Zh), "admin（命令行）");
        assert_eq!(interface("workbench", Lang::Zh), "工作台");
        assert_eq!(greeting(Some(" "), false, Lang::Zh), "您好：");
        assert_eq!(greeting(None, true, Lang::Zh), "各位同志：");
        assert_eq!(
            subject(
                "problem",
                "P1",
                Some("账目不清"),
                Some("市财政局"),
                Lang::Zh
            ),
            "问题“账目不清”（市财政局）"
        );
        assert_eq!(
            subject("inspection", "I1", None, Some("市财政局"), Lang::En),
            "the inspection of 市财政局"
        );
        assert_eq!(
            titled(Some("整改率"), "rectification_rate", Lang::En),
            "rectification rate"
        );
        assert_eq!(
            titled(Some("整改率过低约谈"), "整改率过低约谈", Lang::En),
            "整改率过低约谈"
        );
    }
}
