//! The workbench's words: Chinese first, English on request (a cookie set
//! by `/lang/en`). Templates call `t("key")`; codes stored in the database
//! (statuses, task kinds, roles) are shown with `label(kind, code)`.

use axum::extract::{Path, Query};
use axum::http::header;
use axum::http::request::Parts;
use minijinja::{Environment, State};

/// The language of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The viewer's choice, from the `duban_lang` cookie; Chinese by default.
    pub fn of(parts: &Parts) -> Lang {
        match super::auth::cookie(&parts.headers, "duban_lang") {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::of(parts))
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

/// English names of stored codes (Chinese ones come from the schema).
const CODES_EN: &[(&str, &str)] = &[
    ("open", "open"),
    ("rectifying", "rectifying"),
    ("rectified", "rectified"),
    ("done", "done"),
    ("cancelled", "cancelled"),
    ("queued", "queued"),
    ("sending", "sending"),
    ("sent", "sent"),
    ("failed", "failed"),
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

/// How a stored code of `kind` (`task_status`, `problem_status`,
/// `severity`, `task_kind`, `notice_status`, `role`) reads in `lang`.
pub fn label(lang: Lang, kind: &str, code: &str) -> String {
    use crate::schema::{PROBLEM_STATUS, SEVERITY, SUBJECT_TYPE, TASK_STATUS};
    let zh = match kind {
        "task_status" => TASK_STATUS.label_of(code),
        "problem_status" => PROBLEM_STATUS.label_of(code),
        "severity" => SEVERITY.label_of(code),
        "subject_type" => SUBJECT_TYPE.label_of(code),
        "task_kind" => crate::schema::standard_task_kind(code).map(|(_, l)| l),
        "notice_status" => NOTICE_STATUS_ZH
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, l)| *l),
        "role" => ROLE_ZH.iter().find(|(c, _)| *c == code).map(|(_, l)| *l),
        "approval_status" => APPROVAL_STATUS_ZH
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, l)| *l),
        _ => None,
    };
    match lang {
        Lang::Zh => zh.unwrap_or(code).to_string(),
        Lang::En if kind == "task_kind" => code.replace('_', " "),
        Lang::En => CODES_EN
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, e)| e.to_string())
            .unwrap_or_else(|| code.to_string()),
    }
}

/// Gives the templates `t(key)` and `label(kind, code)`.
pub fn install(env: &mut Environment<'static>) {
    env.add_function("t", |state: &State, key: &str| {
        word(lang_of(state), key).to_string()
    });
    env.add_function("label", |state: &State, kind: &str, code: Option<&str>| {
        code.map(|c| label(lang_of(state), kind, c))
            .unwrap_or_default()
    });
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
