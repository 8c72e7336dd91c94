//! The workbench's words: Chinese first, English on request (a cookie set
//! by `/lang/en`). Templates call `t("key")`; codes stored in the database
//! (statuses, task kinds, roles) are shown with `label(kind, code)`.

use axum::extract::{Path, Query};
use axum::http::header;
use axum::http::request::Parts;
use minijinja::{Environment, State};

/// The language of a page (the presentation module's).
pub use crate::present::Lang;

/// The viewer's choice, from the `duban_lang` cookie; Chinese by default.
pub fn lang_of_parts(parts: &Parts) -> Lang {
    match super::auth::cookie(&parts.headers, "duban_lang") {
        Some("en") => Lang::En,
        _ => Lang::Zh,
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(lang_of_parts(parts))
    }
}

/// `key`, Chinese, English.
const WORDS: &[(&str, &str, &str)] = &[
    ("duban", "督办", "duban"),
    ("workbench", "督办工作台", "duban workbench"),
    ("my_tasks", "我的任务", "My tasks"),
    ("approvals", "待审批", "Approvals"),
    ("approval", "审批", "Approval"),
    ("task", "任务", "Task"),
    ("show_all", "显示全部", "Show all"),
    ("show_pending", "只看待审批", "Pending only"),
    (
        "no_approvals",
        "没有待审批的请求",
        "No request awaits a decision",
    ),
    ("approver", "审批人", "Approver"),
    ("asked_on", "提出日期", "Asked on"),
    ("decide_by", "审批期限", "Decide by"),
    ("decided", "已作出决定", "Decided"),
    ("decision", "决定", "Decision"),
    ("note", "意见", "Note"),
    ("reason", "理由", "Reason"),
    ("approve", "批准", "Approve"),
    ("reject", "不批准", "Reject"),
    (
        "held_notices",
        "批准后发出的通知",
        "Notices sent on approval",
    ),
    (
        "due_on_approval",
        "（自批准之日起计）",
        "(counted from the approval day)",
    ),
    (
        "awaits_other",
        "此请求由审批人本人决定。",
        "The approver decides this request.",
    ),
    ("organizations", "组织", "Organizations"),
    ("tasks", "任务", "Tasks"),
    ("notices", "通知", "Notices"),
    ("rules", "规则", "Rules"),
    ("status", "状态", "Status"),
    ("report", "整改进展通报", "Progress report"),
    ("accounts", "账户", "Accounts"),
    ("sign_in", "登录", "Sign in"),
    ("sign_out", "退出", "Sign out"),
    ("who", "编号或邮箱", "Person id or email"),
    ("password", "密码", "Password"),
    (
        "or_link",
        "或者，把一次性登录链接发到我的邮箱",
        "Or email me a one-time sign-in link",
    ),
    ("send_link", "发送登录链接", "Send the link"),
    (
        "link_sent",
        "如果该账户存在，登录链接已发送到其邮箱，15 分钟内有效，只能使用一次。15 分钟内最多发送 3 个链接。",
        "If the account exists, a sign-in link was sent to its email; it works once, within 15 minutes. At most 3 links are sent in 15 minutes.",
    ),
    ("link_use", "使用此链接登录", "Sign in with this link"),
    (
        "link_for",
        "此链接将以下列身份登录：",
        "This link signs in as: ",
    ),
    (
        "link_bad",
        "登录链接无效、已使用或已过期，请重新申请。",
        "The sign-in link is not valid, already used, or expired: ask for a new one.",
    ),
    (
        "wrong_password",
        "编号、邮箱或密码不正确。",
        "Wrong person, email or password.",
    ),
    ("id", "编号", "ID"),
    ("kind", "类别", "Kind"),
    ("due", "期限", "Due"),
    ("overdue", "已逾期", "Overdue"),
    ("overdue_n", "逾期", "overdue"),
    ("days", "天", "days"),
    ("subject", "对象事项", "Subject"),
    ("target", "谈话对象", "Target"),
    ("assignee", "承办人", "Assignee"),
    ("organization", "组织", "Organization"),
    ("deadline", "整改期限", "Deadline"),
    ("description", "问题描述", "Description"),
    ("responsible", "责任人", "Responsible"),
    ("outcome", "办理结果", "Outcome"),
    ("done_on", "完成日期", "Done on"),
    ("mark_done", "办结", "Mark done"),
    ("task_done", "任务已办结。", "The task is done."),
    ("rule", "规则", "Rule"),
    ("created_on", "创建日期", "Created"),
    ("closed_by", "办结人", "Closed by"),
    ("facts", "触发时的事实", "Facts when it fired"),
    ("no_tasks", "没有待办任务。", "No open tasks."),
    ("recent_done", "最近办结", "Recently done"),
    ("overdue_days", "逾期天数", "Days overdue"),
    ("total", "合计", "Total"),
    (
        "accounts_hint",
        "账户的开设和注销由系统管理员办理。",
        "The system administrator opens and closes accounts.",
    ),
    (
        "report_compared",
        "个组织，与以下日期相比：",
        "organizations, compared with",
    ),
    ("count_open", "待办", "open"),
    ("count_overdue", "逾期", "overdue"),
    ("count_week", "本周到期", "due this week"),
    ("download_xlsx", "下载电子表格", "Download as a spreadsheet"),
    ("as_of", "截至", "As of"),
    ("period", "比较", "Compare with"),
    ("period_month", "上月", "the month before"),
    ("period_quarter", "上季度", "the quarter before"),
    ("show", "查看", "Show"),
    ("org_hint", "输入组织名称", "type an organization's name"),
    ("confirm_title", "请再次确认", "Please confirm"),
    (
        "confirm_harsh",
        "批准后将交办下列任务，这是一项严厉的处理措施：",
        "Approving gives out these tasks, a harsh step:",
    ),
    ("confirm_approve", "确认批准", "Yes, approve"),
    (
        "confirm_cancel",
        "返回，暂不决定",
        "Back, do not decide yet",
    ),
    ("harsh", "严厉措施", "harsh step"),
    ("filter", "筛选", "Filter"),
    ("all", "全部", "All"),
    ("only_overdue", "仅看逾期", "Overdue only"),
    ("from", "从", "From"),
    ("to", "至", "To"),
    ("page", "页", "Page"),
    ("previous", "上一页", "Previous"),
    ("counted_at", "统计时间", "Counted at"),
    (
        "counted_note",
        "数字每分钟至多统计一次",
        "figures are counted at most once a minute",
    ),
    ("next", "下一页", "Next"),
    ("of_total", "共", "of"),
    ("problems", "问题数", "Problems"),
    ("rectified", "已整改", "Rectified"),
    ("rate", "整改率", "Rate"),
    ("overdue_problems", "逾期问题", "Overdue"),
    ("inspections", "巡察", "Inspections"),
    ("round", "轮次", "Round"),
    ("feedback_on", "反馈日期", "Feedback"),
    ("severity", "严重程度", "Severity"),
    ("category", "类别", "Category"),
    ("recipients", "收件人", "Recipients"),
    ("channel", "群", "Channel"),
    ("attempts", "尝试次数", "Attempts"),
    ("last_error", "最近错误", "Last error"),
    ("retry", "重试", "Retry"),
    ("retried", "已重新排队。", "Queued again."),
    ("created_at", "创建时间", "Created"),
    ("sent_at", "发送时间", "Sent"),
    ("last_fired", "最近触发", "Last fired"),
    ("holds_for", "当前命中", "Holds for"),
    ("subjects", "个对象", "subjects"),
    ("explain", "解释", "Explain"),
    (
        "analysis",
        "规则检查：重复、覆盖与无法到达的步骤",
        "Rule review: overlaps, covered rules, unreachable steps",
    ),
    (
        "analysis_clean",
        "未发现重复、被覆盖或无法到达的规则。",
        "No overlapping, covered or unreachable rules found.",
    ),
    ("explain_for", "对象编号", "Subject id"),
    ("policy", "规则集", "Policy"),
    ("last_run", "最近一次运行", "Last run"),
    ("never", "从未", "never"),
    ("today", "今天", "Today"),
    ("status_waits", "待办事项", "What waits"),
    ("status_open_tasks", "待办任务", "Open tasks"),
    ("status_overdue", "逾期", "overdue"),
    (
        "status_pending_tasks",
        "待审批的任务",
        "Tasks awaiting approval",
    ),
    ("status_done_tasks", "已完成的任务", "Tasks done"),
    ("status_cancelled_tasks", "已取消的任务", "Tasks cancelled"),
    (
        "status_retry_hint",
        "可在“通知”中重新发送",
        "they can be sent again from Notices",
    ),
    (
        "status_last_error",
        "最近一次发送失败的原因",
        "Why the last send failed",
    ),
    ("status_runs", "最近的运行", "Recent runs"),
    ("status_as_of", "运行时间", "Run at"),
    ("status_fired", "规则触发", "Firings"),
    ("status_skipped", "跳过", "Skipped"),
    ("status_finished", "完成于", "finished"),
    (
        "status_unfinished",
        "中断或仍在运行",
        "interrupted or still running",
    ),
    (
        "status_no_runs",
        "尚未运行过督办规则。",
        "The policy has not run yet.",
    ),
    ("status_calendar", "工作日历", "Working-day calendar"),
    ("status_calendar_covers", "已录入年份：", "Years covered:"),
    (
        "status_calendar_none",
        "尚未录入任何年份的工作日",
        "No year's working days yet",
    ),
    (
        "status_calendar_missing",
        "尚未录入下一年：",
        "next year is missing:",
    ),
    ("rule_holds", "规则成立", "the rule holds"),
    ("rule_does_not_hold", "规则不成立", "the rule does not hold"),
    ("holds", "成立", "holds"),
    ("does_not_hold", "不成立", "does not hold"),
    ("schedule", "运行时间", "Schedule"),
    ("role", "角色", "Role"),
    ("sessions", "会话", "Sessions"),
    ("email", "邮箱", "Email"),
    ("name", "姓名", "Name"),
    (
        "chart_rate",
        "各组织整改率",
        "Rectification rate by organization",
    ),
    ("lang_other", "English", "中文"),
    ("signed_in_as", "当前用户", "Signed in as"),
    ("none", "无", "none"),
    ("back", "返回", "Back"),
];

/// The word for `key` in `lang` (the key itself when there is none).
pub fn word(lang: Lang, key: &str) -> &str {
    WORDS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, zh, en)| if lang == Lang::En { *en } else { *zh })
        .unwrap_or(key)
}

fn lang_of(state: &State) -> Lang {
    match state.lookup("lang").as_ref().and_then(|v| v.as_str()) {
        Some("en") => Lang::En,
        _ => Lang::Zh,
    }
}

/// How a stored code of `kind` (`task_status`, `problem_status`,
/// `severity`, `task_kind`, `notice_status`, `role`, `approval_status`)
/// reads in `lang`; task kinds the policy declares by its label.
pub fn label(lang: Lang, kind: &str, code: &str) -> String {
    if kind == "field" {
        return field_label(lang, code);
    }
    crate::present::status(lang, kind, code)
}

/// How a schema field `entity.field` (`inspection.report_due`) is labelled:
/// the schema's own label, or in English its name in words.
fn field_label(lang: Lang, code: &str) -> String {
    let (entity, field) = code.split_once('.').unwrap_or(("", code));
    match lang {
        Lang::Zh => crate::schema::Entity::lookup(entity)
            .and_then(|e| e.field(field))
            .map(|f| f.zh.to_string())
            .unwrap_or_else(|| field.to_string()),
        Lang::En => {
            let words = field.replace('_', " ");
            let mut c = words.chars();
            c.next()
                .map(|first| first.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    }
}

/// Gives the templates `t(key)`, `label(kind, code)` (task kinds the
/// policy declares by their `kinds` label), `time(text)` (a stored time
/// in the office's zone, `2026-12-03 09:00`), `via(text)` (an interface
/// in words), `who(text)` (who closed a task, in words) and
/// `schedule(cron, workdays)` (a schedule in words).
pub fn install(env: &mut Environment<'static>, tz: chrono_tz::Tz, kinds: Vec<(String, String)>) {
    env.add_function("t", |state: &State, key: &str| {
        word(lang_of(state), key).to_string()
    });
    env.add_function(
        "label",
        move |state: &State, kind: &str, code: Option<&str>| {
            let lang = lang_of(state);
            let declared = (kind == "task_kind" && lang == Lang::Zh)
                .then(|| {
                    kinds
                        .iter()
                        .find(|(c, _)| Some(c.as_str()) == code)
                        .map(|(_, l)| l.clone())
                })
                .flatten();
            declared
                .or_else(|| code.map(|c| label(lang, kind, c)))
                .unwrap_or_default()
        },
    );
    env.add_function("time", move |text: Option<&str>| {
        text.map(|t| crate::present::values::time_text(t, tz))
            .unwrap_or_default()
    });
    env.add_function("via", |state: &State, text: Option<&str>| {
        text.map(|t| crate::present::interface(t, lang_of(state)))
            .unwrap_or_default()
    });
    env.add_function("who", |state: &State, text: Option<&str>| {
        text.map(|t| crate::present::names::closed_by(t, lang_of(state)))
            .unwrap_or_default()
    });
    env.add_function(
        "schedule",
        |state: &State, cron: Option<&str>, workdays: Option<bool>| {
            crate::present::schedule_words(
                cron.unwrap_or("0 9 * * *"),
                workdays.unwrap_or(false),
                lang_of(state),
            )
        },
    );
}

#[derive(serde::Deserialize)]
pub struct Back {
    back: Option<String>,
}

/// `/lang/en`, `/lang/zh`: remembers the choice, back to the page.
pub async fn switch(
    axum::extract::State(app): axum::extract::State<std::sync::Arc<super::App>>,
    Path(lang): Path<String>,
    Query(q): Query<Back>,
) -> Result<axum::response::Response, super::WebError> {
    let lang = if lang == "en" { "en" } else { "zh" };
    // Only a path of this site: never an open redirect.
    let back = super::guard::return_address(q.back.as_deref())?;
    let mut answer = super::guard::see_other(&back);
    answer.headers_mut().insert(
        header::SET_COOKIE,
        app.cookie("duban_lang", lang, 365 * 24 * 3600),
    );
    Ok(answer)
}
