//! The workbench's pages and the forms they post. A member sees the tasks
//! assigned to them; the office sees everything. Every change is the store
//! operation behind the matching CLI command (`tasks done`, `notices
//! retry`), with the account recorded as who did it.

use super::auth::{CsrfOnly, Viewer};
use super::{App, OrgFigures, WebError};
use crate::clock::{AsOf, utc_text};
use crate::schema::TaskStatus;
use crate::store::outbox::{NoticeStatus, RetryWhich};
use crate::store::tasks::{self, Query as TaskQuery, Task};
use crate::store::{accounts, approvals, audit, cases, outbox};
use axum::extract::{Form, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use minijinja::value::Serde;
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Rows on a page of tasks or notices.
const PAGE: u64 = 50;

type Page = std::result::Result<Response, WebError>;

/// A page rendered from `template`.
fn show(app: &App, template: &str, ctx: Value) -> Page {
    Ok(app.render(template, ctx)?.into_response())
}

fn today(app: &App) -> NaiveDate {
    AsOf::new(app.clock.now(), app.tz).today
}

/// `/`: members to their tasks, the office to its organizations.
pub async fn home(viewer: Viewer) -> Redirect {
    if viewer.session.role.sees_office() {
        Redirect::to("/orgs")
    } else {
        Redirect::to("/my")
    }
}

/// A task as lists show it: the task, whether it is overdue, its subject.
#[derive(Serialize)]
struct Row {
    #[serde(flatten)]
    task: Task,
    overdue_days: Option<i64>,
    about: Option<cases::Subject>,
}

fn rows(
    conn: &crate::store::Db,
    list: Vec<Task>,
    today: NaiveDate,
) -> crate::error::Result<Vec<Row>> {
    list.into_iter()
        .map(|t| {
            let about = cases::subject(conn, &t.subject_type, &t.subject_id)?;
            Ok(Row {
                overdue_days: t.overdue_days(today),
                about,
                task: t,
            })
        })
        .collect()
}

/// 我的任务: the viewer's open tasks, soonest due first, and the latest done.
pub async fn my_tasks(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(p): Query<Paging>,
) -> Page {
    let me = viewer.session.person_id.clone();
    let page = p.page.unwrap_or(1).max(1);
    let (open, counts, done) = app
        .db(move |conn, app| {
            let today = today(app);
            let mine = |status, offset, limit| TaskQuery {
                assignee: Some(me.clone()),
                status: Some(status),
                offset,
                limit,
                ..TaskQuery::default()
            };
            let (open, total) =
                tasks::page(conn, &mine(TaskStatus::Open, (page - 1) * PAGE, PAGE))?;
            // 逾期, 本周到期 (from today to Sunday): counted, no rows read.
            let count = |q: TaskQuery| tasks::page(conn, &q).map(|(_, n)| n);
            let sunday = today
                + chrono::Days::new(
                    6 - u64::from(chrono::Datelike::weekday(&today).num_days_from_monday()),
                );
            let overdue = count(TaskQuery {
                overdue: true,
                today: Some(today),
                ..mine(TaskStatus::Open, 0, 0)
            })?;
            let week = count(TaskQuery {
                due_from: Some(today),
                due_to: Some(sunday),
                ..mine(TaskStatus::Open, 0, 0)
            })?;
            let done = tasks::recently_done(conn, &me, 10)?;
            let open = rows(conn, open, today)?;
            Ok((open, (total, overdue, week), rows(conn, done, today)?))
        })
        .await?;
    let (total, overdue, week) = counts;
    let counts = context! { open => total, overdue, week };
    let pager = pager(Some(page), total, &());
    show(
        &app,
        "my.html",
        context! {
            page => "my", open => Value::from(Serde(&open)), done => Value::from(Serde(&done)), pager, counts,
            ..viewer.context()
        },
    )
}

/// A form's page shown again with what was wrong (422).
fn unprocessable(page: Page) -> Page {
    let mut r = page?;
    *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}

/// Whether the viewer may see task `t`: the office any, a member their own.
fn may_see(viewer: &Viewer, t: &Task) -> bool {
    viewer.session.role.sees_office() || t.assignee.as_deref() == Some(&viewer.session.person_id)
}

#[derive(Deserialize, Default)]
pub struct TaskPageQuery {
    done: Option<String>,
}

/// One task: what it is about, the facts it was created on, its notices,
/// and the form that closes it.
pub async fn task(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<TaskPageQuery>,
) -> Page {
    let message = q.done.map(|_| super::i18n::word(viewer.lang, "task_done"));
    task_page(&app, viewer, id, message, None).await
}

async fn task_page(
    app: &Arc<App>,
    viewer: Viewer,
    id: String,
    message: Option<&str>,
    error: Option<String>,
) -> Page {
    let v = viewer.clone();
    let found = app
        .db(move |conn, app| {
            let Ok(t) = tasks::get(conn, &id) else {
                return Ok(None);
            };
            if !may_see(&v, &t) {
                return Ok(None);
            }
            let notices = outbox::of_task(conn, &t.id)?;
            let row = rows(conn, vec![t], today(app))?.pop();
            Ok(row.map(|r| (r, notices, today(app).to_string())))
        })
        .await?;
    let Some((row, notices, today)) = found else {
        return Err(WebError::NotFound);
    };
    // The facts in words, read against the rule that recorded them; the
    // rule by its title.
    let policy = super::policy(&app.cfg).ok();
    let rule = policy
        .as_ref()
        .zip(row.task.rule.as_deref())
        .and_then(|(p, r)| p.rule(r).map(|rule| (p, rule)));
    let rule_title = rule.map(|(_, r)| r.title.clone().unwrap_or_else(|| r.name.clone()));
    let about = row.about.as_ref();
    let subject_words = crate::present::names::subject(
        &row.task.subject_type,
        &row.task.subject_id,
        about.and_then(|a| a.title.as_deref()),
        about.and_then(|a| a.organization.as_deref()),
        viewer.lang,
    );
    let facts: Vec<(String, String)> = match (rule, row.task.facts.as_ref()) {
        (Some((p, r)), Some(stored)) => {
            crate::present::facts::facts_from_json(p, r, stored, viewer.lang)
                .into_iter()
                .map(|f| (f.value_and_rule(viewer.lang), f.label))
                .map(|(value, label)| (label, value))
                .collect()
        }
        _ => Vec::new(),
    };
    let notices: Vec<Value> = notices
        .into_iter()
        .map(|(id, status, subject)| context! { id, status, subject })
        .collect();
    show(
        app,
        "task.html",
        context! {
            page => if viewer.session.role.sees_office() { "tasks" } else { "my" },
            task => Value::from(Serde(&row)), facts, notices, today, message, error, rule_title,
            subject_words,
            ..viewer.context()
        },
    )
}

#[derive(Deserialize)]
pub struct DoneForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    on: String,
}

/// `POST /tasks/ID/done`: the same operation as `duban tasks done`.
pub async fn task_done(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<DoneForm>,
) -> Page {
    viewer.check_csrf(&f.csrf)?;
    let v = viewer.clone();
    let task_id = id.clone();
    let result = app
        .db_write(move |conn, app| {
            let Ok(t) = tasks::get(conn, &task_id) else {
                return Err(WebError::NotFound);
            };
            if !may_see(&v, &t) {
                return Err(WebError::NotFound);
            }
            let today = today(app);
            let on = date_filter(v.lang, &f.on)?.unwrap_or(today);
            // What is wrong with the form, in the viewer's words.
            if t.status != TaskStatus::Open.code() {
                let status = super::i18n::label(v.lang, "task_status", &t.status);
                return Err(WebError::Invalid(match v.lang {
                    super::i18n::Lang::En => {
                        format!("The task is {status} already: nothing to close.")
                    }
                    _ => format!("此任务已是“{status}”状态，无需再次办结。"),
                }));
            }
            if let Err(why) = tasks::check_done(t.created_on.as_deref(), &f.outcome, on, today) {
                return Err(WebError::Invalid(unfit_words(&why, v.lang)));
            }
            let by = format!("{} {} (workbench)", v.session.person_id, v.session.name);
            tasks::done(
                conn,
                &task_id,
                &f.outcome,
                on,
                today,
                &by,
                &utc_text(app.clock.now()),
            )?;
            Ok(())
        })
        .await;
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/tasks/{id}?done=1")).into_response()),
        Err(WebError::Invalid(why)) => {
            unprocessable(task_page(&app, viewer, id, None, Some(why)).await)
        }
        Err(e) => Err(e),
    }
}

/// Why a task cannot be closed, for the person closing it.
fn unfit_words(why: &tasks::Unfit, lang: super::i18n::Lang) -> String {
    use crate::present::date_long;
    match (why, lang) {
        (tasks::Unfit::NoOutcome, super::i18n::Lang::En) => "Say what came of the task.".into(),
        (tasks::Unfit::NoOutcome, _) => "请填写办理结果。".into(),
        (tasks::Unfit::Future { on, .. }, l) => match l {
            super::i18n::Lang::En => format!(
                "{} is still to come: give the day it was done.",
                date_long(*on, l)
            ),
            _ => format!("{}尚未到来，请填写实际完成的日期。", date_long(*on, l)),
        },
        (tasks::Unfit::BeforeCreated { created, .. }, l) => match l {
            super::i18n::Lang::En => format!(
                "The task was created on {}: it cannot be done before.",
                date_long(*created, l)
            ),
            _ => format!(
                "任务创建于{}，完成日期不能早于这一天。",
                date_long(*created, l)
            ),
        },
    }
}

/// The filters of the office's task list, as the form sends them.
#[derive(Deserialize, Serialize, Default)]
pub struct TaskFilters {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    org: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    from: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    to: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    overdue: String,
    #[serde(default, skip_serializing)]
    page: Option<u64>,
}

fn date_filter(
    lang: super::i18n::Lang,
    text: &str,
) -> std::result::Result<Option<NaiveDate>, WebError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    crate::text::parse_date(t).map(Some).ok_or_else(|| {
        WebError::Invalid(match lang {
            super::i18n::Lang::En => format!("`{t}` is not a date (write 2026-12-03)"),
            _ => format!("“{t}”不是日期（请写作 2026-12-03）"),
        })
    })
}

fn some(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

/// Page numbers: the current one (from 1), how many, and the query
/// string of the filters (without the page) for the links.
fn pager(page: Option<u64>, total: u64, filters: &impl Serialize) -> Value {
    let pages = total.div_ceil(PAGE).max(1);
    let current = page_number(page, total);
    let query = serde_urlencoded::to_string(filters).unwrap_or_default();
    context! { current, pages, total, query }
}

/// The page asked for, within the pages `total` rows fill (from 1).
fn page_number(page: Option<u64>, total: u64) -> u64 {
    page.unwrap_or(1).clamp(1, total.div_ceil(PAGE).max(1))
}

/// The task query of the filters; `org` names an organization by its
/// name (from the page's list) or by its id.
fn task_query(
    f: &TaskFilters,
    orgs: &OrgFigures,
    lang: super::i18n::Lang,
) -> std::result::Result<TaskQuery, WebError> {
    let status = match f.status.as_str() {
        "" => None,
        s => Some(TaskStatus::parse(s).ok_or_else(|| {
            WebError::Invalid(match lang {
                super::i18n::Lang::En => format!("status: `{s}` is not a task status"),
                _ => format!("状态“{s}”不是任务的状态"),
            })
        })?),
    };
    let organization = some(&f.org).map(|o| {
        orgs.orgs
            .iter()
            .find(|x| x.name == o)
            .map(|x| x.id.clone())
            .unwrap_or(o)
    });
    let page = f.page.unwrap_or(1).max(1);
    Ok(TaskQuery {
        status,
        overdue: !f.overdue.is_empty(),
        kind: some(&f.kind),
        organization,
        due_from: date_filter(lang, &f.from)?,
        due_to: date_filter(lang, &f.to)?,
        offset: (page - 1) * PAGE,
        limit: PAGE,
        ..TaskQuery::default()
    })
}

/// 任务: the office's tasks, filtered, a page at a time.
pub async fn tasks(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(mut f): Query<TaskFilters>,
) -> Page {
    viewer.require_office()?;
    let orgs = app.org_figures().await?;
    let mut q = task_query(&f, &orgs, viewer.lang)?;
    // The organization by its name in the field, however it was asked for.
    if let Some(o) = orgs
        .orgs
        .iter()
        .find(|o| Some(&o.id) == q.organization.as_ref())
    {
        f.org = o.name.clone();
    }
    let (list, total) = app
        .db(move |conn, app| {
            let today = today(app);
            q.today = Some(today);
            let (list, total) = tasks::page(conn, &q)?;
            Ok((rows(conn, list, today)?, total))
        })
        .await?;
    let kinds: Vec<Value> = crate::schema::STANDARD_TASK_KINDS
        .iter()
        .map(|(code, _)| context! { code => *code })
        .collect();
    let names: Vec<String> = orgs.orgs.iter().map(|o| o.name.clone()).collect();
    let download = serde_urlencoded::to_string(&f).unwrap_or_default();
    show(
        &app,
        "tasks.html",
        context! {
            page => "tasks", rows => Value::from(Serde(&list)), kinds, names, download,
            pager => pager(f.page, total, &f), f => Value::from(Serde(&f)),
            ..viewer.context()
        },
    )
}

/// The most rows a downloaded task list holds.
const SHEET_ROWS: u64 = 100_000;

/// `/tasks.xlsx`: the filtered task list as a workbook.
pub async fn tasks_xlsx(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(f): Query<TaskFilters>,
) -> Page {
    viewer.require_office()?;
    let lang = viewer.lang;
    let orgs = app.org_figures().await?;
    let mut q = task_query(&f, &orgs, lang)?;
    q.offset = 0;
    q.limit = SHEET_ROWS;
    let bytes = app
        .db_heavy(move |conn, app| {
            let today = today(app);
            q.today = Some(today);
            let (list, total) = tasks::page(conn, &q)?;
            if total > SHEET_ROWS {
                return Err(WebError::Invalid(match lang {
                    super::i18n::Lang::En => format!(
                        "{total} tasks match, more than a download holds ({SHEET_ROWS}): narrow the filters"
                    ),
                    _ => format!(
                        "符合条件的任务有 {total} 个，超过一次下载的上限（{SHEET_ROWS} 个），请缩小筛选范围"
                    ),
                }));
            }
            let policy = super::policy(&app.cfg).ok();
            let sheet = task_sheet(rows(conn, list, today)?, policy.as_ref(), today, lang);
            Ok(sheet?)
        })
        .await?;
    Ok(xlsx(bytes, &format!("tasks-{}.xlsx", today(&app))))
}

/// The rows of a downloaded task list, headed in `lang`.
fn task_sheet(
    list: Vec<Row>,
    policy: Option<&crate::lang::ir::Policy>,
    today: NaiveDate,
    lang: super::i18n::Lang,
) -> crate::error::Result<Vec<u8>> {
    use super::i18n::word;
    use crate::present::sheet::Cell;
    let headings: Vec<String> = [
        "id",
        "kind",
        "status",
        "due",
        "overdue_days",
        "organization",
        "subject",
        "target",
        "assignee",
        "created_on",
        "done_on",
        "outcome",
    ]
    .iter()
    .map(|k| word(lang, k).to_string())
    .collect();
    let kind = |code: &str| match lang {
        super::i18n::Lang::En => super::i18n::label(lang, "task_kind", code),
        _ => crate::ledger::report::kind_label(policy, code),
    };
    let rows: Vec<Vec<Cell>> = list
        .into_iter()
        .map(|r| {
            let t = r.task;
            let about = r.about.unwrap_or_default();
            vec![
                Cell::Text(t.id.clone()),
                Cell::Text(kind(&t.kind)),
                Cell::Text(super::i18n::label(lang, "task_status", &t.status)),
                Cell::date(t.due.as_deref()),
                r.overdue_days
                    .map(|d| Cell::Number(d as f64))
                    .unwrap_or(Cell::Empty),
                Cell::text(about.organization),
                Cell::text(about.title.or(Some(t.subject_id))),
                Cell::text(t.target_name.or(t.target)),
                Cell::text(t.assignee_name.or(t.assignee)),
                Cell::date(t.created_on.as_deref()),
                Cell::date(t.done_on.as_deref()),
                Cell::text(t.outcome),
            ]
        })
        .collect();
    let title = match lang {
        super::i18n::Lang::En => format!("Tasks as of {today}"),
        _ => format!("任务清单（截至 {today}）"),
    };
    crate::present::sheet::workbook(word(lang, "tasks"), &title, &headings, &rows)
}

/// A workbook to download as `name`.
fn xlsx(bytes: Vec<u8>, name: &str) -> Response {
    use axum::http::header;
    (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

#[derive(Deserialize, Serialize, Default)]
pub struct NoticeFilters {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    rule: String,
    #[serde(default, skip_serializing)]
    page: Option<u64>,
    #[serde(default, skip_serializing)]
    retried: Option<String>,
}

/// 通知: the outbox, newest first, filtered by status and rule.
pub async fn notices(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(f): Query<NoticeFilters>,
) -> Page {
    viewer.require_office()?;
    let status =
        match f.status.as_str() {
            "" => None,
            s => Some(NoticeStatus::parse(s).ok_or_else(|| {
                WebError::Invalid(format!("status: `{s}` is not a notice status"))
            })?),
        };
    let page = f.page.unwrap_or(1).max(1);
    let rule = some(&f.rule);
    let (list, total) = app
        .db(move |conn, _| {
            Ok(outbox::page(
                conn,
                status,
                rule.as_deref(),
                super::auth::SIGN_IN_RULE,
                (page - 1) * PAGE,
                PAGE,
            )?)
        })
        .await?;
    // Rules by their titles; the code beside, small.
    let rules: Vec<(String, String)> = super::policy(&app.cfg)
        .map(|p| {
            p.rules
                .iter()
                .map(|r| {
                    (
                        r.name.clone(),
                        r.title.clone().unwrap_or_else(|| r.name.clone()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let title_of = |rule: &str| {
        rules
            .iter()
            .find(|(n, _)| n == rule)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| rule.to_string())
    };
    let list: Vec<Value> = list
        .into_iter()
        .map(|n| {
            let title = title_of(&n.rule);
            let to: Vec<String> = serde_json::from_str::<Vec<serde_json::Value>>(&n.recipients)
                .unwrap_or_default()
                .iter()
                .filter_map(|r| r.get("name").and_then(|x| x.as_str()).map(str::to_string))
                .collect();
            context! {
                id => n.id, status => n.status, attempts => n.attempts, created_at => n.created_at,
                rule => n.rule, title, subject_id => n.subject_id, to => to.join("、"),
                subject => n.subject, last_error => n.last_error, sent_at => n.sent_at, task_id => n.task_id,
            }
        })
        .collect();
    let message = f
        .retried
        .as_ref()
        .map(|_| super::i18n::word(viewer.lang, "retried"));
    show(
        &app,
        "notices.html",
        context! {
            page => "notices", notices => list, rules, pager => pager(f.page, total, &f), f => Value::from(Serde(&f)), message,
            ..viewer.context()
        },
    )
}

/// `POST /notices/ID/retry`: the same operation as `duban notices retry ID`.
pub async fn retry_notice(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Page {
    viewer.check_csrf(&f.csrf)?;
    viewer.require_office()?;
    let n = app
        .db_write(move |conn, _| Ok(outbox::retry(conn, RetryWhich::One(id))?))
        .await?;
    if n == 0 {
        return Err(WebError::Invalid(format!(
            "notice #{id} is neither queued nor failed: nothing to retry"
        )));
    }
    app.deliver_now();
    Ok(Redirect::to("/notices?retried=1").into_response())
}

/// 组织: every organization with problems, lowest rectification rate
/// first, with a chart.
pub async fn organizations(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(p): Query<Paging>,
) -> Page {
    viewer.require_office()?;
    let figures = app.org_figures().await?;
    let bars: Vec<(String, f64)> = figures
        .orgs
        .iter()
        .take(15)
        .map(|o| (o.name.clone(), o.now.rate().unwrap_or(1.0)))
        .collect();
    let chart = crate::ledger::svg::rate_bars(super::i18n::word(viewer.lang, "chart_rate"), &bars)?;
    let total = figures.orgs.len() as u64;
    let first = (page_number(p.page, total) - 1) * PAGE;
    let pager = pager(p.page, total, &());
    let list: Vec<Value> = figures
        .orgs
        .iter()
        .skip(first as usize)
        .take(PAGE as usize)
        .map(|o| {
            context! {
                id => o.id.clone(), name => o.name.clone(), problems => o.now.found, rectified => o.now.rectified,
                overdue => o.now.overdue, rate => o.now.rate().map(|r| format!("{:.1}%", r * 100.0)),
                low => o.now.rate().is_some_and(|r| r < 0.7),
            }
        })
        .collect();
    let counted = figures
        .at
        .with_timezone(&app.tz)
        .format("%H:%M")
        .to_string();
    show(
        &app,
        "orgs.html",
        context! {
            page => "orgs", orgs => list, chart => Value::from_safe_string(chart), pager, counted,
            ..viewer.context()
        },
    )
}

/// `?page=N` of a list without other filters.
#[derive(Debug, Default, Deserialize)]
pub struct Paging {
    page: Option<u64>,
}

/// One organization: its inspections.
pub async fn organization(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Page {
    viewer.require_office()?;
    let found = app
        .db(move |conn, app| {
            let Some(name) = cases::organization_name(conn, &id)? else {
                return Ok(None);
            };
            Ok(Some((
                id.clone(),
                name,
                cases::inspections_of(conn, &id, today(app))?,
            )))
        })
        .await?;
    let Some((id, name, inspections)) = found else {
        return Err(WebError::NotFound);
    };
    show(
        &app,
        "org.html",
        context! {
            page => "orgs", org_query => serde_urlencoded::to_string([("org", &id)]).unwrap_or_default(),
            name, inspections => Value::from(Serde(&inspections)), ..viewer.context()
        },
    )
}

/// One inspection: its problems, most overdue first, each with its tasks.
pub async fn inspection(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Page {
    viewer.require_office()?;
    let found = app
        .db(move |conn, app| {
            let today = today(app);
            let Some(i) = cases::inspection(conn, &id, today)? else {
                return Ok(None);
            };
            let problems = cases::problems_of(conn, &id, today)?;
            let (list, _) = tasks::page(
                conn,
                &TaskQuery {
                    inspection: Some(id.clone()),
                    limit: 5000,
                    ..TaskQuery::default()
                },
            )?;
            // Listed under their problem, which the page shows already.
            let mut by_problem: std::collections::HashMap<String, Vec<Task>> = Default::default();
            for t in list {
                by_problem.entry(t.subject_id.clone()).or_default().push(t);
            }
            let problems: Vec<Value> = problems
                .into_iter()
                .map(|p| {
                    let tasks = by_problem.remove(&p.id).unwrap_or_default();
                    context! { p => Value::from(Serde(&p)), tasks => Value::from(Serde(&tasks)) }
                })
                .collect();
            Ok(Some((i, problems)))
        })
        .await?;
    let Some((i, problems)) = found else {
        return Err(WebError::NotFound);
    };
    show(
        &app,
        "inspection.html",
        context! { page => "orgs", i => Value::from(Serde(&i)), problems, ..viewer.context() },
    )
}

#[derive(Deserialize, Default)]
pub struct ExplainQuery {
    rule: Option<String>,
    subject: Option<String>,
}

/// 规则: the live policy, each rule's last firing and how many subjects it
/// holds for now (as dry-run counts them); `duban explain` for one subject.
pub async fn rules(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(q): Query<ExplainQuery>,
) -> Page {
    viewer.require_office()?;
    let lang = viewer.lang;
    let zh = lang != super::i18n::Lang::En;
    let (policy, figures) = app.rule_figures().await?;
    let (rules, explained, hash, findings) = app
        .db(move |conn, app| {
            let policy = &*policy;
            // The analysis in words: overlaps counted on today's data.
            let engine = crate::engine::Engine::for_office(policy, &app.cfg)?;
            let at = AsOf::new(app.clock.now(), policy.tz);
            let findings: Vec<Value> = figures
                .analysis
                .findings()
                .map(|(f, on)| Value::from(Serde(crate::engine::analysis::in_words(policy, f, on, zh))))
                .collect();
            let holding = &figures.counts;
            let fired = audit::last_firings(conn, policy.rules.iter().map(|r| r.name.as_str()))?;
            let rules: Vec<Value> = policy
                .rules
                .iter()
                .map(|r| {
                    let schedule = r.schedule.as_ref().or(policy.schedule.as_ref());
                    context! {
                        name => r.name.clone(), title => r.title.clone(), entity => r.entity.name(),
                        schedule => crate::present::schedule_words(
                            schedule.map(|s| s.cron.as_str()).unwrap_or("0 9 * * *"),
                            schedule.is_some_and(|s| s.workdays),
                            lang,
                        ),
                        condition => crate::present::condition_words(policy, r, lang),
                        holds => holding.get(&r.name).copied().unwrap_or(0),
                        last_fired => fired.get(&r.name),
                    }
                })
                .collect();
            let explained = match (some(q.rule.as_deref().unwrap_or("")), some(q.subject.as_deref().unwrap_or(""))) {
                (Some(rule), Some(subject)) => {
                    let title = policy
                        .rule(&rule)
                        .map(|r| r.title.clone().unwrap_or_else(|| r.name.clone()))
                        .unwrap_or_else(|| rule.clone());
                    let found = match engine.select(Some(&rule)) {
                        Ok(i) => engine.explain_tree(conn, i[0], &at, &subject),
                        Err(e) => Err(crate::error::Error::usage(e.to_string())),
                    };
                    match found {
                        Ok(Some((tree, _))) => {
                            let holds = tree.value == serde_json::Value::Bool(true);
                            let tree = crate::present::facts::explain_words(policy, &tree, lang);
                            Some(context! { rule, subject, title, holds, tree => Value::from(minijinja::value::Serde(vec![tree])) })
                        }
                        Ok(None) => {
                            let error = match lang {
                                super::i18n::Lang::En => format!("there is no `{subject}`"),
                                _ => format!("未找到 {subject}"),
                            };
                            Some(context! { rule, subject, title, error })
                        }
                        Err(e) => Some(context! { rule, subject, title, error => e.to_string() }),
                    }
                }
                _ => None,
            };
            Ok((rules, explained, policy.hash.clone(), findings))
        })
        .await?;
    show(
        &app,
        "rules.html",
        context! { page => "rules", rules, explained, hash, findings, ..viewer.context() },
    )
}

/// 状态: the last runs, what waits (tasks, approvals, notices), what
/// failed, and the working-day calendar's cover — in words, as a page.
pub async fn status(State(app): State<Arc<App>>, viewer: Viewer) -> Page {
    viewer.require_office()?;
    let lang = viewer.lang;
    let ctx = app
        .db_heavy(move |conn, app| {
            let today = today(app);
            let runs: Vec<Value> = crate::store::runs::recent(conn, 10)?
                .into_iter()
                .map(|r| {
                    context! {
                        id => r.id, kind => r.kind, as_of => r.as_of, rules => r.rules,
                        fired => r.fired, tasks => r.tasks, notices => r.notices,
                        skipped => r.skipped, finished_at => r.finished_at,
                    }
                })
                .collect();
            let t = tasks::counts(conn, today)?;
            let kinds: Vec<Value> = tasks::open_by_kind(conn, today)?
                .into_iter()
                .map(|(kind, open, overdue)| context! { kind, open, overdue })
                .collect();
            let (approvals_pending, approvals_overdue) = approvals::counts(conn, today)?;
            let n = outbox::counts(conn)?;
            let last_error = outbox::last_error(conn)?;
            let calendar = app.cfg.load_calendar()?;
            let years: Vec<String> = calendar.years().map(|(y, _)| y.to_string()).collect();
            // From 1 December, next year's working days are needed.
            let next = chrono::Datelike::year(&today) + 1;
            let missing_next = (chrono::Datelike::month(&today) == 12 && !calendar.covers(next))
                .then_some(next);
            Ok(context! {
                today => crate::present::date_long(today, lang), runs, kinds,
                tasks => context! { open => t.open, overdue => t.overdue, pending => t.pending, done => t.done, cancelled => t.cancelled },
                approvals_pending, approvals_overdue,
                notices => context! { queued => n.queued, sending => n.sending, sent => n.sent, failed => n.failed },
                last_error, years, missing_next,
            })
        })
        .await?;
    show(
        &app,
        "status.html",
        context! { page => "status", status => ctx, ..viewer.context() },
    )
}

/// The report's day and the period it compares with (`?as_of=&period=`).
#[derive(Deserialize, Serialize, Default)]
pub struct ReportQuery {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    as_of: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    period: String,
}

/// The report of `duban report` as of the day asked for (today by
/// default), its headings in `lang`.
fn build_report(
    conn: &crate::store::Db,
    app: &App,
    q: &ReportQuery,
    lang: super::i18n::Lang,
) -> std::result::Result<crate::ledger::report::Report, WebError> {
    use crate::ledger::report::{Period, build, kind_label};
    let as_of = date_filter(lang, &q.as_of)?.unwrap_or_else(|| today(app));
    let period = match q.period.as_str() {
        "quarter" => Period::Quarter,
        _ => Period::Month,
    };
    let policy = super::policy(&app.cfg).ok();
    let label = |kind: &str| match lang {
        super::i18n::Lang::En => super::i18n::label(lang, "task_kind", kind),
        _ => kind_label(policy.as_ref(), kind),
    };
    let mut report = build(conn, as_of, period, &label)?;
    if lang == super::i18n::Lang::En {
        // The report's own headings are Chinese: the fixed ones in English.
        const FIXED: [&str; 8] = [
            "Organization",
            "Problems",
            "Rectified",
            "Rate",
            "Rate before",
            "Change (points)",
            "Rectified this period",
            "Overdue",
        ];
        let n = report.headings.len();
        for (i, h) in report.headings.iter_mut().enumerate() {
            if let Some(en) = FIXED.get(i) {
                *h = en.to_string();
            } else if i + 2 == n {
                *h = "Tasks done".into();
            } else if i + 1 == n {
                *h = "Tasks open".into();
            }
        }
    }
    Ok(report)
}

/// 整改进展通报: the report of `duban report` inside the workbench, as of
/// a day and compared with the month or the quarter before.
pub async fn report(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(q): Query<ReportQuery>,
) -> Page {
    use crate::ledger::report::Cell;
    viewer.require_office()?;
    let lang = viewer.lang;
    let download = serde_urlencoded::to_string(&q).unwrap_or_default();
    let (report, as_of) = app
        .db_heavy(move |conn, app| {
            let r = build_report(conn, app, &q, lang)?;
            Ok((r, q))
        })
        .await?;
    let cell = |c: &Cell| -> (String, &'static str) {
        match c {
            Cell::Text(t) => (t.clone(), "data"),
            Cell::Count(n) => (n.to_string(), "num"),
            Cell::Rate(Some(x)) => (crate::present::percent(*x), "num"),
            Cell::Change(Some(x)) if *x > 0.0 => (format!("+{x:.1}"), "num up"),
            Cell::Change(Some(x)) => (format!("{x:.1}"), "num down"),
            Cell::Rate(None) | Cell::Change(None) => ("—".into(), "num"),
        }
    };
    let rows: Vec<Vec<(String, &str)>> = report
        .rows
        .iter()
        .map(|r| r.iter().map(cell).collect())
        .collect();
    let mut total: Vec<(String, &str)> = report.total.iter().map(cell).collect();
    if let Some(first) = total.first_mut() {
        *first = (super::i18n::word(lang, "total").to_string(), "");
    }
    let bars: Vec<(String, f64)> = report
        .rows
        .iter()
        .filter_map(|r| match (r.first(), r.get(report.rate_column)) {
            (Some(Cell::Text(name)), Some(Cell::Rate(Some(x)))) => Some((name.clone(), *x)),
            _ => None,
        })
        .collect();
    let chart = crate::ledger::svg::rate_bars(super::i18n::word(lang, "chart_rate"), &bars)?;
    show(
        &app,
        "report.html",
        context! {
            page => "report", headings => report.headings, rows, total,
            chart => Value::from_safe_string(chart),
            as_of => report.as_of.to_string(), previous => report.previous.to_string(),
            period => if as_of.period == "quarter" { "quarter" } else { "month" },
            download, organizations => report.rows.len(),
            ..viewer.context()
        },
    )
}

/// `/report.xlsx`: the report as `duban report --to FILE.xlsx` writes it.
pub async fn report_xlsx(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(q): Query<ReportQuery>,
) -> Page {
    viewer.require_office()?;
    let lang = viewer.lang;
    let (bytes, as_of) = app
        .db_heavy(move |conn, app| {
            let report = build_report(conn, app, &q, lang)?;
            // The report's workbook is written to a file: a private one of
            // this request's own, read back and removed.
            let dir = std::env::temp_dir().join(format!(
                "duban-report-{}-{}",
                std::process::id(),
                fastrand::u64(..)
            ));
            std::fs::create_dir(&dir).map_err(|e| WebError::Internal(e.into()))?;
            let path = dir.join("report.xlsx");
            let written = crate::ledger::report::write(&report, &path)
                .and_then(|()| std::fs::read(&path).map_err(Into::into));
            let _ = std::fs::remove_dir_all(&dir);
            Ok((written?, report.as_of))
        })
        .await?;
    Ok(xlsx(bytes, &format!("report-{as_of}.xlsx")))
}

/// 账户: the accounts (admins only); `duban users` changes them.
pub async fn accounts(State(app): State<Arc<App>>, viewer: Viewer) -> Page {
    if viewer.session.role != accounts::Role::Admin {
        return Err(WebError::NotFound);
    }
    let list = app
        .db(move |conn, app| Ok(accounts::list(conn, &utc_text(app.clock.now()))?))
        .await?;
    show(
        &app,
        "accounts.html",
        context! { page => "accounts", accounts => Value::from(Serde(&list)), ..viewer.context() },
    )
}

/// 待审批: the requests addressed to the viewer; the office sees all.
pub async fn approvals(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(f): Query<ApprovalFilter>,
) -> Page {
    let me = (!viewer.session.role.sees_office()).then(|| viewer.session.person_id.clone());
    let pending_only = f.all.is_none();
    let list = app
        .db(move |conn, app| {
            let today = today(app);
            let list = approvals::list(conn, pending_only, me.as_deref())?;
            Ok(list
                .into_iter()
                .map(|a| {
                    let overdue = a.is_overdue(today);
                    context! { overdue, ..Value::from(Serde(&a)) }
                })
                .collect::<Vec<_>>())
        })
        .await?;
    show(
        &app,
        "approvals.html",
        context! { page => "approvals", approvals => list, all => !pending_only, ..viewer.context() },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct ApprovalFilter {
    all: Option<String>,
}

/// One request: the subject's facts, the tasks and notices that wait for
/// it, and — for its approver — the forms to decide it.
pub async fn approval(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<TaskPageQuery>,
) -> Page {
    let message = q.done.map(|_| super::i18n::word(viewer.lang, "decided"));
    approval_page(&app, viewer, id, message, None).await
}

async fn approval_page(
    app: &Arc<App>,
    viewer: Viewer,
    id: String,
    message: Option<&str>,
    error: Option<String>,
) -> Page {
    let me = viewer.session.person_id.clone();
    let office = viewer.session.role.sees_office();
    let found = app
        .db(move |conn, app| {
            let Ok(a) = approvals::get(conn, &id) else {
                return Ok(None);
            };
            if !office && a.approver != me {
                return Ok(None);
            }
            let tasks = tasks::of_approval(conn, &id)?;
            let held = approvals::held(conn, &id)?;
            let overdue = a.is_overdue(today(app));
            let about = cases::subject(conn, &a.subject_type, &a.subject_id)?;
            // Who decided, by name.
            let decider = match a.decided_by.as_deref() {
                Some(id) => cases::person(conn, id)?.map(|(name, _)| name),
                None => None,
            };
            Ok(Some((a, tasks, held, overdue, about, decider)))
        })
        .await?;
    let Some((a, tasks, held, overdue, about, decider)) = found else {
        return Err(WebError::NotFound);
    };
    let held: Vec<Value> = held
        .iter()
        .map(|h| {
            let shown =
                crate::deliver::notice::held_notice(&h.subject, &h.body, h.task_id.is_some(), None);
            context! {
                subject => shown.subject,
                body => shown.body,
                channel => h.channel.clone(),
            }
        })
        .collect();
    let decides = a.is_pending() && a.approver == viewer.session.person_id;
    let harsh = harsh(app, &a, &tasks);
    show(
        app,
        "approval.html",
        context! {
            page => "approvals", approval => Value::from(Serde(&a)), overdue, decides, harsh,
            about => Value::from(Serde(&about)),
            tasks => Value::from(Serde(&tasks)), held, message, error, decider,
            ..viewer.context()
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    reason: String,
    /// Set by the second step of a harsh decision.
    #[serde(default)]
    confirmed: String,
}

/// The task kinds that are harsh steps (问责, 通报批评): approving them
/// asks the approver to confirm once more.
pub const HARSH_KINDS: [&str; 2] = ["accountability", "criticism_notice"];

/// Whether approving request `a` is a harsh step: it gives out a harsh
/// task, or its rule is marked `harsh` (严厉措施).
fn harsh(app: &App, a: &approvals::Approval, tasks: &[Task]) -> bool {
    tasks.iter().any(|t| HARSH_KINDS.contains(&t.kind.as_str()))
        || super::policy(&app.cfg)
            .ok()
            .and_then(|p| p.rule(&a.rule).map(|r| r.harsh))
            .unwrap_or(false)
}

/// `POST /approvals/ID/approve`: the same operation as `duban approvals
/// approve`; a harsh step first shows what it gives out and asks again.
pub async fn approve(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Page {
    if f.confirmed.is_empty() {
        viewer.check_csrf(&f.csrf)?;
        let me = viewer.session.person_id.clone();
        let request = id.clone();
        let found = app
            .db(move |conn, _| match approvals::get(conn, &request) {
                Ok(a) if a.approver == me && a.is_pending() => {
                    let tasks = tasks::of_approval(conn, &request)?;
                    Ok(Some((a, tasks)))
                }
                _ => Ok(None),
            })
            .await?;
        if let Some((a, tasks)) = found.filter(|(a, t)| harsh(&app, a, t)) {
            return show(
                &app,
                "confirm.html",
                context! {
                    page => "approvals", approval => Value::from(Serde(&a)),
                    tasks => Value::from(Serde(&tasks)), note => f.note,
                    ..viewer.context()
                },
            );
        }
    }
    let verdict = crate::engine::approval::Verdict::Approve {
        note: Some(f.note.clone()),
    };
    decide(app, viewer, id, &f.csrf, verdict).await
}

/// `POST /approvals/ID/reject`: the same operation as `duban approvals reject`.
pub async fn reject(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Page {
    let verdict = crate::engine::approval::Verdict::Reject {
        reason: f.reason.clone(),
    };
    decide(app, viewer, id, &f.csrf, verdict).await
}

/// Decides a request as the signed-in person, who must be its approver.
async fn decide(
    app: Arc<App>,
    viewer: Viewer,
    id: String,
    csrf: &str,
    verdict: crate::engine::approval::Verdict,
) -> Page {
    viewer.check_csrf(csrf)?;
    let me = viewer.session.person_id.clone();
    let request = id.clone();
    let result = app
        .db_write(move |conn, app| {
            match approvals::get(conn, &request) {
                Ok(a) if a.approver == me => {}
                _ => return Err(WebError::NotFound),
            }
            let who = crate::engine::approval::Decider {
                person: &me,
                via: "workbench",
            };
            let at = AsOf::new(app.clock.now(), app.tz);
            crate::engine::approval::decide_configured(
                &app.cfg, conn, &request, &verdict, &who, &at,
            )?;
            Ok(())
        })
        .await;
    match result {
        Ok(()) => {
            app.deliver_now();
            Ok(Redirect::to(&format!("/approvals/{id}?done=1")).into_response())
        }
        Err(WebError::Invalid(why)) => {
            unprocessable(approval_page(&app, viewer, id, None, Some(why)).await)
        }
        Err(e) => Err(e),
    }
}
