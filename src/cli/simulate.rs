//! `duban simulate [RULES] --days N`: what the next days' scheduled runs
//! would do if the case data stayed as it is.

use super::evaluate::{as_of, load_policy, mail_domain};
use super::{Format, policy_paths};
use crate::config::Config;
use crate::engine::simulate::{Day, Replay, simulate};
use crate::engine::{Engine, RuleOutcome};
use crate::error::Result;
use crate::lang::ir::Policy;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

/// Replay the scheduled runs of the next N days, writing nothing.
///
/// On a copy of the episode state, the case data held as it is: how many
/// tasks and notices each day and rule would bring if nobody rectified
/// anything.
///
/// With --against OLD, both policies are simulated and compared day by day.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  duban simulate --days 30\n  duban simulate proposed-rules/ --days 30 --against rules/"
)]
pub struct Args {
    /// .rules files or folders (default: the configured rules folder).
    #[arg(value_name = "RULES")]
    paths: Vec<PathBuf>,
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3660))]
    days: u32,
    /// Start of the simulation (default: now).
    #[arg(long, value_name = "T")]
    as_of: Option<String>,
    /// Compare with this policy.
    #[arg(long, value_name = "OLD")]
    against: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Evaluate every rule on every scheduled day as a run would: slower at
    /// scale, and the reference the default replay is tested against.
    #[arg(long)]
    day_by_day: bool,
}

pub fn run(config: &Option<PathBuf>, args: Args) -> Result<ExitCode> {
    let cfg = Config::load(config.as_deref())?;
    let policy = load_policy(&policy_paths(config, &args.paths)?, &cfg)?;
    let old = match &args.against {
        Some(p) => Some(load_policy(std::slice::from_ref(p), &cfg)?),
        None => None,
    };
    let mut conn = crate::store::open(&cfg.database)?;
    let tz = policy.tz;
    let from = as_of(args.as_of.as_deref(), tz, &super::clock())?;
    let domain = mail_domain(&cfg);
    let calendar = cfg.load_calendar()?;
    let run_one = |conn: &mut crate::store::Db, p: &Policy| -> Result<Vec<Day>> {
        let engine = Engine::new(p, domain.clone())
            .with_calendar(calendar.clone())
            .with_dialect(conn.dialect());
        let replay = if args.day_by_day {
            Replay::DayByDay
        } else {
            Replay::Windowed
        };
        simulate(conn, &engine, &from, args.days, tz, replay)
    };
    let new_days = run_one(&mut conn, &policy)?;
    let old_days = match &old {
        Some(p) => Some(run_one(&mut conn, p)?),
        None => None,
    };
    match args.format {
        Format::Json => {
            let v = serde_json::json!({
                "from": from.rfc3339(), "days": args.days, "policy": policy.hash,
                "approval_assumed": with_approval(&policy),
                "per_day": days_json(&new_days),
                "per_rule": per_rule(&new_days).into_iter().map(|(r, t)| rule_json(&r, &t)).collect::<Vec<_>>(),
                "against": old.as_ref().map(|p| serde_json::json!({
                    "policy": p.hash,
                    "per_day": old_days.as_deref().map(days_json),
                })),
            });
            println!("{v}");
        }
        Format::Table => print_table(
            &policy,
            &from.rfc3339(),
            args.days,
            &new_days,
            old_days.as_deref(),
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn rule_json(rule: &str, t: &RuleOutcome) -> serde_json::Value {
    serde_json::json!({"rule": rule, "firings": t.firings(), "tasks": t.tasks, "notices": t.notices, "messages": t.messages, "skipped": t.skipped, "new_episodes": t.new_episodes, "ended": t.ended})
}

fn days_json(days: &[Day]) -> Vec<serde_json::Value> {
    days.iter()
        .map(|d| {
            let t = totals(&d.rules);
            serde_json::json!({
                "date": d.date.map(|x| x.to_string()),
                "firings": t.firings(), "tasks": t.tasks, "notices": t.notices, "messages": t.messages,
                "skipped": t.skipped,
                "rules": d.rules.iter().filter(|o| o.firings() > 0).map(|o| rule_json(&o.rule, &totals(std::slice::from_ref(o)))).collect::<Vec<_>>(),
                "rested": d.rested,
            })
        })
        .collect()
}

/// The counts of several outcomes together.
fn totals(outcomes: &[RuleOutcome]) -> RuleOutcome {
    let mut t = RuleOutcome::default();
    for o in outcomes {
        t += o;
    }
    t
}

fn per_rule(days: &[Day]) -> BTreeMap<String, RuleOutcome> {
    let mut m: BTreeMap<String, RuleOutcome> = BTreeMap::new();
    for d in days {
        for o in &d.rules {
            *m.entry(o.rule.clone()).or_default() += o;
        }
    }
    m
}

/// The rules with `approval by`: a simulation assumes each of their
/// firings approved on its day.
fn with_approval(policy: &Policy) -> Vec<&str> {
    policy
        .rules
        .iter()
        .filter(|r| r.approval.is_some())
        .map(|r| r.name.as_str())
        .collect()
}

fn print_table(policy: &Policy, from: &str, n: u32, days: &[Day], old: Option<&[Day]>) {
    println!("simulating {n} days from {from}, the case data held as it is");
    let approved = with_approval(policy);
    if !approved.is_empty() {
        println!(
            "assuming every firing of {} approved on its day (approval by)",
            approved.join(", ")
        );
    }
    println!();
    match old {
        None => println!(
            "{:<12} {:>8} {:>8} {:>8} {:>8}   rules that fire",
            "date", "firings", "tasks", "notices", "skipped"
        ),
        Some(_) => println!(
            "{:<12} {:>16} {:>16} {:>16}",
            "date", "firings new/old", "tasks new/old", "notices new/old"
        ),
    }
    let old_by_date: BTreeMap<_, _> = old
        .unwrap_or(&[])
        .iter()
        .map(|d| (d.date, totals(&d.rules)))
        .collect();
    let mut dates: Vec<_> = days.iter().map(|d| d.date).collect();
    dates.extend(old_by_date.keys().copied());
    dates.sort();
    dates.dedup();
    for date in dates {
        let day = days.iter().find(|d| d.date == date);
        let t = day.map(|d| totals(&d.rules)).unwrap_or_default();
        let label = date.map(|d| d.to_string()).unwrap_or_default();
        match old {
            None => {
                let firing: Vec<String> = day
                    .map(|d| {
                        d.rules
                            .iter()
                            .filter(|o| o.firings() > 0)
                            .map(|o| format!("{} {}", o.rule, o.firings()))
                            .collect()
                    })
                    .unwrap_or_default();
                let rested = day
                    .filter(|d| !d.rested.is_empty())
                    .map(|d| format!("  (day off: {} rest)", d.rested.join(", ")))
                    .unwrap_or_default();
                println!(
                    "{label:<12} {:>8} {:>8} {:>8} {:>8}   {}{rested}",
                    t.firings(),
                    t.tasks,
                    t.notices,
                    t.skipped,
                    firing.join(", ")
                );
            }
            Some(_) => {
                let o = old_by_date.get(&date).cloned().unwrap_or_default();
                let pair = |a: u64, b: u64| {
                    let d = a as i64 - b as i64;
                    format!(
                        "{a}/{b}{}",
                        if d == 0 {
                            String::new()
                        } else {
                            format!(" ({d:+})")
                        }
                    )
                };
                println!(
                    "{label:<12} {:>16} {:>16} {:>16}",
                    pair(t.firings(), o.firings()),
                    pair(t.tasks, o.tasks),
                    pair(t.notices, o.notices)
                );
            }
        }
    }
    let all = per_rule(days);
    let sum = all.values().fold(RuleOutcome::default(), |mut a, t| {
        a += t;
        a
    });
    let messages = if sum.messages > 0 {
        format!(" · {}", super::counted(sum.messages, "chat message"))
    } else {
        String::new()
    };
    let skipped = if sum.skipped > 0 {
        format!(" · {} skipped (see dry-run for why)", sum.skipped)
    } else {
        String::new()
    };
    println!(
        "\nover {n} days: {} · {} · {}{messages}{skipped}",
        super::counted(sum.firings(), "firing"),
        super::counted(sum.tasks, "task"),
        super::counted(sum.notices, "notice")
    );
    for r in &policy.rules {
        if let Some(t) = all.get(&r.name).filter(|t| t.firings() > 0) {
            println!(
                "  {} {:>7} firings · {:>7} tasks · {:>7} notices · {:>7} skipped  {}",
                crate::text::pad(&r.name, 24),
                t.firings(),
                t.tasks,
                t.notices,
                t.skipped,
                r.title.as_deref().unwrap_or("")
            );
        }
    }
}
