//! The engine through the binary: every expression form and missing-value
//! case on a small office whose answers are worked out by hand, episodes
//! across evaluation times, `repeat every`, diff, and rule edits.

mod common;
use common::cases::{CASES, cases_policy};
use common::{Office, set, subjects_of};

#[test]
fn every_expression_form_and_missing_value_case() {
    let office = Office::fixture();
    office.policy(&cases_policy());
    let out = office.dry_run(&["--as-of", "2026-06-01", "--fresh"]);
    let mut wrong = Vec::new();
    for (name, _, cond, expected) in CASES {
        let got = subjects_of(&out["actions"], name);
        if got != set(expected) {
            wrong.push(format!(
                "{name} ({cond}): expected {expected:?}, got {got:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn dry_run_json_has_the_spec_shape() {
    let office = Office::fixture();
    office.policy(
        r#"tasktype dues_talk "党费催缴提醒谈话"
rule overdue_reminder
  for problem
  when overdue_days >= 30
  then task 批评教育 with responsible
  then notify responsible, inspection.organization.secretary
"#,
    );
    let out = office.dry_run(&["--as-of", "2026-06-01"]);
    assert_eq!(out["as_of"], "2026-06-01T00:00:00+08:00");
    assert!(out["policy"].as_str().unwrap_or("").starts_with("sha256:"));
    let actions = out["actions"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        actions[0],
        serde_json::json!({"rule": "overdue_reminder", "entity": "problem", "subject": "p1", "type": "task",
            "kind": "criticism_education", "target": "u3", "assignee": "u2", "due": "2026-06-08"})
    );
    // u3 has no email: the notice goes to the secretary u1 only, and says why.
    assert_eq!(
        actions[1],
        serde_json::json!({"rule": "overdue_reminder", "entity": "problem", "subject": "p1", "type": "notify",
            "template": null, "to": ["u1"]})
    );
    let skipped = out["skipped"].as_array().cloned().unwrap_or_default();
    assert!(
        skipped
            .iter()
            .any(|s| s["subject"] == "p1" && s["reason"].as_str().unwrap_or("").contains("王五")),
        "{skipped:?}"
    );
}

#[test]
fn a_missing_person_skips_the_action_but_starts_the_episode() {
    let office = Office::fixture();
    office.policy(
        "rule nobody\n  for problem\n  when missing(responsible)\n  then task reminder_talk with responsible\n",
    );
    let out = office.dry_run(&["--as-of", "2026-06-01"]);
    assert_eq!(out["actions"].as_array().map(|a| a.len()), Some(0));
    assert_eq!(out["skipped"][0]["subject"], "p4");
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success();
    assert_eq!(
        office.count("SELECT count(*) FROM episodes WHERE rule = 'nobody' AND subject_id = 'p4'"),
        1
    );
    assert_eq!(
        office.count("SELECT count(*) FROM tasks WHERE rule = 'nobody'"),
        0
    );
    let skipped: String = office
        .db()
        .query_row("SELECT skipped FROM audit WHERE rule = 'nobody'", [], |r| {
            r.get(0)
        })
        .unwrap_or_default();
    assert!(skipped.contains("responsible"), "{skipped}");
}

const LATE: &str = "rule late\n  for problem\n  when overdue_days > 0\n  then task reminder_talk with responsible\n";

#[test]
fn episodes_fire_once_end_and_start_again() {
    let office = Office::fixture();
    office.policy(LATE);
    let run = |day: &str| {
        office
            .cmd()
            .args(["run", "--as-of", day])
            .assert()
            .success();
    };
    run("2026-06-01");
    assert_eq!(
        office.count("SELECT count(*) FROM tasks WHERE rule = 'late'"),
        2
    );
    // Still holding: no second firing within the episode.
    run("2026-06-02");
    run("2026-06-10");
    assert_eq!(
        office.count("SELECT count(*) FROM tasks WHERE rule = 'late'"),
        2
    );
    // p2 is rectified: its episode ends.
    office.write(
        "fix/problems.csv",
        "id,inspection_id,status,rectified_on\np2,i1,rectified,2026-06-10\n",
    );
    office
        .cmd()
        .args(["import", "fix/problems.csv"])
        .assert()
        .success();
    run("2026-06-11");
    assert_eq!(
        office.count("SELECT count(*) FROM episodes WHERE rule = 'late' AND ended_at IS NOT NULL"),
        1
    );
    // Reopened: a new episode, a new task.
    office.write(
        "fix/problems.csv",
        "id,inspection_id,status,rectified_on\np2,i1,open,\n",
    );
    office
        .cmd()
        .args(["import", "fix/problems.csv"])
        .assert()
        .success();
    run("2026-06-12");
    assert_eq!(
        office.count("SELECT count(*) FROM tasks WHERE rule = 'late' AND subject_id = 'p2'"),
        2
    );
    assert_eq!(
        office.count("SELECT count(*) FROM episodes WHERE rule = 'late' AND subject_id = 'p2'"),
        2
    );
    // Every firing left an audit record with its facts and the policy hash.
    assert_eq!(
        office.count("SELECT count(*) FROM audit WHERE rule = 'late'"),
        3
    );
    assert_eq!(
        office.count("SELECT count(*) FROM audit WHERE rule = 'late' AND facts LIKE '%overdue_days%' AND policy_hash LIKE 'sha256:%'"),
        3
    );
}

#[test]
fn repeat_every_fires_again_on_time() {
    let office = Office::fixture();
    office.policy(&format!("{LATE}  repeat every 7 days\n"));
    for day in ["2026-06-01", "2026-06-05", "2026-06-07"] {
        office
            .cmd()
            .args(["run", "--as-of", day])
            .assert()
            .success();
    }
    assert_eq!(
        office.count("SELECT count(*) FROM tasks WHERE rule = 'late'"),
        2,
        "not again before 7 days"
    );
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-08"])
        .assert()
        .success();
    assert_eq!(
        office.count("SELECT count(*) FROM tasks WHERE rule = 'late'"),
        4,
        "again after 7 days"
    );
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-14"])
        .assert()
        .success();
    assert_eq!(
        office.count("SELECT count(*) FROM tasks WHERE rule = 'late'"),
        4
    );
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-15T09:00:00+08:00"])
        .assert()
        .success();
    assert_eq!(
        office.count("SELECT count(*) FROM tasks WHERE rule = 'late'"),
        6
    );
    assert_eq!(
        office.count("SELECT max(fired) FROM episodes WHERE rule = 'late'"),
        3
    );
}

#[test]
fn editing_a_rule_keeps_its_episodes() {
    let office = Office::fixture();
    office.policy(LATE);
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success();
    // The body changes, the name stays: no new firing for subjects still
    // holding.
    office.policy("rule late \"逾期即谈话\"\n  for problem\n  when overdue_days >= 1 and status != \"rectified\"\n  then task reminder_talk with responsible due 3 days\n");
    let out = office.dry_run(&["--as-of", "2026-06-02"]);
    assert_eq!(out["actions"].as_array().map(|a| a.len()), Some(0), "{out}");
    // Renamed: a different rule, a fresh start.
    office.policy(&LATE.replace("rule late", "rule late_renamed"));
    let out = office.dry_run(&["--as-of", "2026-06-02"]);
    assert_eq!(
        subjects_of(&out["actions"], "late_renamed"),
        set(&["p1", "p2"])
    );
}

#[test]
fn dry_run_writes_nothing_and_fresh_ignores_episodes() {
    let office = Office::fixture();
    office.policy(LATE);
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success();
    let before = office.dump();
    let out = office.dry_run(&["--as-of", "2026-06-02"]);
    assert_eq!(out["actions"].as_array().map(|a| a.len()), Some(0));
    let out = office.dry_run(&["--as-of", "2026-06-02", "--fresh"]);
    assert_eq!(subjects_of(&out["actions"], "late"), set(&["p1", "p2"]));
    office
        .cmd()
        .args(["dry-run", "--as-of", "2026-06-03"])
        .assert()
        .success();
    assert_eq!(office.dump(), before);
}

#[test]
fn diff_shows_added_and_removed_actions() {
    let office = Office::fixture();
    office.write(
        "old/p.rules",
        "rule late\n  for problem\n  when overdue_days > 30\n  then notify responsible\n",
    );
    office.write(
        "new/p.rules",
        "rule late\n  for problem\n  when overdue_days > 10\n  then notify responsible\nrule serious\n  for problem\n  when severity = \"serious\"\n  then notify \"office@example.org\"\n",
    );
    let v = office.json(&["diff", "old", "new", "--as-of", "2026-06-01"]);
    let added = common::firings(&v["added"]);
    assert!(added.contains(&("late".into(), "p2".into())), "{v}");
    assert!(added.contains(&("serious".into(), "p3".into())), "{v}");
    assert_eq!(added.len(), 2, "{v}");
    assert_eq!(v["removed"].as_array().map(|a| a.len()), Some(0));
    // And the other way round.
    let v = office.json(&["diff", "new", "old", "--as-of", "2026-06-01"]);
    assert_eq!(common::firings(&v["removed"]).len(), 2, "{v}");
    // The table form says it in a line each.
    office
        .cmd()
        .args(["diff", "old", "new", "--as-of", "2026-06-01"])
        .assert()
        .success()
        .stdout(predicates::str::contains("2 added, 0 removed"));
}

#[test]
fn a_broken_policy_evaluates_nothing() {
    let office = Office::fixture();
    office.policy("rule late\n  for problem\n  when overdue_dayz > 0\n  then notify responsible\n");
    let before = office.dump();
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("overdue_days"));
    assert_eq!(office.dump(), before);
}

#[test]
fn usage_errors_exit_2() {
    let office = Office::fixture();
    office.policy(LATE);
    office
        .cmd()
        .args(["run", "--as-of", "tomorrow"])
        .assert()
        .code(2);
    office
        .cmd()
        .args(["run", "--rule", "lates"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("did you mean `late`"));
    office.cmd().args(["run", "--bogus"]).assert().code(2);
}

/// Imported ledgers may give tasks ids of duban's own form (`T000002`): a
/// run numbers its tasks around them, across the ranges of numbers it
/// reads at once (1,024), and the rule's firings keep their numbers.
#[test]
fn a_run_numbers_its_tasks_around_the_ids_imported_tasks_hold() {
    let office = Office::fixture();
    let mut problems = String::from(
        "id,inspection_id,category,severity,description,found_on,deadline,status,rectified_on,responsible_id\n",
    );
    for k in 0..1100 {
        problems.push_str(&format!(
            "q{k:04},i1,党建工作薄弱,minor,问题{k},2026-01-01,2026-03-01,open,,u3\n"
        ));
    }
    office.write("more/problems.csv", &problems);
    office.write(
        "more/tasks.csv",
        "id,subject_type,subject_id,kind,status,target_id,assignee_id,due,created_on,done_on,outcome,rule\n\
         T000002,problem,p1,reminder_talk,open,u3,u2,2026-06-05,2026-05-29,,,\n\
         T001026,problem,p2,reminder_talk,open,u1,u2,2026-06-05,2026-05-29,,,\n",
    );
    office
        .cmd()
        .args(["import", "more/problems.csv", "more/tasks.csv"])
        .assert()
        .success();
    office.policy(
        "rule many\n  for problem\n  when overdue_days >= 30 and category = \"党建工作薄弱\"\n  then task criticism_education with responsible\n",
    );
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-01", "--no-deliver"])
        .assert()
        .success();
    let made = common::texts(
        &office.db(),
        "SELECT id FROM tasks WHERE rule = 'many' ORDER BY id",
    );
    assert!(made.len() > 1100, "{} tasks made", made.len());
    let expected: Vec<String> = (1..)
        .map(|n| format!("T{n:06}"))
        .filter(|id| id != "T000002" && id != "T001026")
        .take(made.len())
        .collect();
    assert_eq!(made, expected);
    // The imported two are still theirs.
    assert_eq!(
        office.count(
            "SELECT count(*) FROM tasks WHERE id IN ('T000002', 'T001026') AND rule IS NULL"
        ),
        2
    );
}

/// A rule that fires again on a subject at one evaluation time (its
/// episode ended and began again between two runs for that time) gives
/// the new notice a Message-ID of its own: the firing is counted.
#[test]
fn a_second_firing_at_one_time_is_a_new_message() {
    let office = Office::fixture();
    office.policy(
        "rule late\n  for problem\n  when overdue_days >= 30 and responsible = \"u3\"\n  then notify inspection.organization.secretary\n",
    );
    let run = || {
        office
            .cmd()
            .args(["run", "--as-of", "2026-06-01", "--no-deliver"])
            .assert()
            .success();
    };
    let deadline = |day: &str| {
        office.write("again/problems.csv", &format!("id,deadline\np1,{day}\n"));
        office
            .cmd()
            .args(["import", "again/problems.csv"])
            .assert()
            .success();
    };
    run();
    deadline("2026-12-01");
    run();
    deadline("2026-04-01");
    run();
    assert_eq!(
        office.count("SELECT count(*) FROM audit WHERE rule = 'late' AND subject_id = 'p1'"),
        2
    );
    let ids = common::texts(
        &office.db(),
        "SELECT message_id FROM outbox WHERE rule = 'late' AND subject_id = 'p1' ORDER BY id",
    );
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_ne!(ids[0], ids[1]);
}

/// The table shows each rule's first firings and skips in subject order,
/// though it reads the firings in whatever order the database finds them
/// (no sort of every firing for the few it shows): problems imported
/// after the others, with ids before theirs, come first, as in `--all`,
/// which lists every firing in order.
#[test]
fn the_table_shows_each_rules_first_firings_in_subject_order() {
    let o = Office::demo(2, "2026-11-22");
    let mut csv = String::from(
        "id,inspection_id,category,severity,description,found_on,deadline,status,rectified_on,responsible_id\n",
    );
    for k in 1..=7 {
        csv.push_str(&format!(
            "A{k:04},I0000001,选人用人不规范,serious,新增问题{k},2025-07-15,2026-01-05,open,,\n"
        ));
    }
    o.write("updates/problems.csv", &csv);
    o.cmd()
        .args(["import", "updates/problems.csv"])
        .assert()
        .success();
    let text = |extra: &[&str]| {
        let out = o
            .cmd()
            .args(["dry-run", "--as-of", "2026-11-22", "--fresh"])
            .args(extra)
            .assert()
            .success();
        String::from_utf8_lossy(&out.get_output().stdout).to_string()
    };
    // Per rule: its example lines and its skip lines.
    let blocks = |out: &str| -> Vec<(String, Vec<String>, Vec<String>)> {
        let mut blocks = Vec::new();
        for block in out.split("\n\n").skip(1) {
            let mut lines = block.lines();
            let Some(head) = lines.next().filter(|l| !l.starts_with("total")) else {
                continue;
            };
            let (mut examples, mut skips, mut in_skips) = (Vec::new(), Vec::new(), false);
            for l in lines {
                if l.starts_with("  skipped") {
                    in_skips = true;
                } else if l.starts_with("    ") && !l.trim_start().starts_with('…') {
                    match in_skips {
                        true => skips.push(l.to_string()),
                        false => examples.push(l.to_string()),
                    }
                }
            }
            blocks.push((head.to_string(), examples, skips));
        }
        blocks
    };
    let (shown, all) = (blocks(&text(&[])), blocks(&text(&["--all"])));
    assert_eq!(shown.len(), all.len());
    assert!(shown.len() > 5, "{shown:?}");
    for ((head, examples, skips), (all_head, all_examples, all_skips)) in shown.iter().zip(&all) {
        assert_eq!(head, all_head);
        assert!(
            all_examples.starts_with(examples),
            "{head}: {examples:#?}\nagainst --all: {:#?}",
            &all_examples[..all_examples.len().min(12)]
        );
        assert!(
            all_skips.starts_with(skips),
            "{head}: {skips:#?}\nagainst --all: {:#?}",
            &all_skips[..all_skips.len().min(12)]
        );
    }
    // The added problems lead the problem rules that hold for them.
    let led = shown
        .iter()
        .filter(|(_, examples, _)| {
            examples
                .first()
                .is_some_and(|l| l.trim_start().starts_with("A0001"))
        })
        .count();
    assert!(led >= 2, "{shown:#?}");
}

/// A small demo office after a run on 1 November (on PostgreSQL, the run
/// fills the calendar table that rules read side by side need).
fn run_demo_office() -> Office {
    let office = Office::demo(2, "2026-11-22");
    office
        .cmd()
        .args(["run", "--as-of", "2026-11-01", "--no-deliver"])
        .assert()
        .success();
    office
}

/// Rules read side by side (`--jobs`, by default one connection per core)
/// report exactly what one connection reading them one after another
/// does: the actions in the rules' order, each rule's in subject order,
/// the skipped actions after them, the table's examples and counts; and,
/// as one connection, they write nothing.
#[test]
fn rules_read_side_by_side_report_what_one_connection_does() {
    let office = run_demo_office();
    let before = office.dump();
    let out = |args: &[&str]| -> String {
        let o = office
            .cmd()
            .args(["dry-run", "--as-of", "2026-11-22", "--fresh"])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap_or_else(|e| panic!("{e}"))
    };
    for format in [&["--format", "json"][..], &["--all"], &[]] {
        let one = out(&[format, &["--jobs", "1"]].concat());
        for jobs in ["2", "4"] {
            assert_eq!(
                out(&[format, &["--jobs", jobs]].concat()),
                one,
                "{format:?} on {jobs} connections"
            );
        }
    }
    let json: serde_json::Value = serde_json::from_str(&out(&["--format", "json", "--jobs", "3"]))
        .unwrap_or_else(|e| panic!("{e}"));
    let fired: std::collections::BTreeSet<&str> = json["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["rule"].as_str())
        .collect();
    assert!(fired.len() >= 5, "{fired:?}");
    assert!(
        json["skipped"].as_array().is_some_and(|s| !s.is_empty()),
        "{}",
        json["skipped"]
    );
    assert_eq!(office.dump(), before);
}

/// Each rule's actions, in the rules' order, as JSON lines.
struct Lines;

impl duban::engine::Parts for Lines {
    type Part = Vec<String>;
    fn part(&self, _: &duban::lang::ir::Rule) -> duban::error::Result<Vec<String>> {
        Ok(Vec::new())
    }
    fn firing(
        &self,
        part: &mut Vec<String>,
        p: &duban::engine::plan::Plan<'_>,
    ) -> duban::error::Result<()> {
        part.extend(p.actions_json().map(|a| serde_json::json!(a).to_string()));
        Ok(())
    }
}

/// A policy of more rules than are read ahead of the one being written
/// (16): the readers wait their turn, and the output is still that of one
/// connection.
#[test]
fn many_rules_read_side_by_side_wait_their_turn() {
    let office = run_demo_office();
    let mut policy = String::new();
    for k in 0..40 {
        let (entity, when) = match k % 3 {
            0 => ("problem", format!("overdue_days >= {k}")),
            1 => ("inspection", format!("days_since(feedback_on) >= {k}")),
            _ => ("organization", "name != \"\"".to_string()),
        };
        policy.push_str(&format!(
            "rule r{k:02}\n  for {entity}\n  when {when}\n  then notify \"office@example.org\"\n\n"
        ));
    }
    office.policy(&policy);
    let out = |jobs: &str| office.dry_run(&["--as-of", "2026-11-22", "--fresh", "--jobs", jobs]);
    let one = out("1");
    assert_eq!(one["rules"].as_array().map(|r| r.len()), Some(40));
    assert!(one["actions"].as_array().is_some_and(|a| a.len() > 1000));
    for jobs in ["2", "4"] {
        assert_eq!(out(jobs), one, "on {jobs} connections");
    }
}

/// The run demo office with its configuration and policy, for tests that
/// call the library's dry-run.
struct Demo {
    office: Office,
    cfg: duban::config::Config,
    policy: duban::lang::ir::Policy,
}

impl Demo {
    fn new() -> Demo {
        let office = run_demo_office();
        let cfg = duban::config::Config::load(Some(&office.path("duban.toml")))
            .unwrap_or_else(|e| panic!("{e}"));
        let policy = duban::policy::load_valid(&[office.path("rules")], &cfg, |_| {})
            .unwrap_or_else(|e| panic!("{e}"));
        Demo {
            office,
            cfg,
            policy,
        }
    }

    /// Its engine; 22 November; every rule; a fresh report in subject order.
    fn engine(
        &self,
    ) -> (
        duban::engine::Engine<'_>,
        duban::clock::AsOf,
        Vec<usize>,
        duban::engine::Reading,
    ) {
        let engine = duban::engine::Engine::for_office(&self.policy, &self.cfg)
            .unwrap_or_else(|e| panic!("{e}"));
        let as_of = duban::clock::AsOf::parse("2026-11-22", self.policy.tz)
            .unwrap_or_else(|e| panic!("{e}"));
        let reading = duban::engine::Reading {
            fresh: true,
            ordered: true,
            ..Default::default()
        };
        (
            engine,
            as_of,
            (0..self.policy.rules.len()).collect(),
            reading,
        )
    }
}

/// A dry-run on one connection reads one snapshot: a commit while it reads
/// its first rule changes none of the later rules' firings.
#[test]
fn a_dry_run_on_one_connection_reads_one_snapshot() {
    let demo = Demo::new();
    let (engine, as_of, rules, reading) = demo.engine();
    let firings = |interfere: bool| -> Vec<u64> {
        let (mut conn, writer) = (demo.office.db(), demo.office.db());
        let mut first = interfere;
        let outcomes = engine
            .dry_run(&mut conn, &rules, &as_of, reading, &mut |_| {
                if std::mem::take(&mut first) {
                    writer.execute("UPDATE problems SET deadline = '2099-12-31'", [])?;
                }
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
        outcomes.iter().map(|o| o.firings()).collect()
    };
    let before = firings(false);
    assert_eq!(firings(true), before);
    // The commit was made: read again, the overdue rules fire no more.
    assert_ne!(firings(false), before);
}

/// The library's side-by-side dry-run of the demo office is taken, not
/// the one-connection fallback, and gives what one connection does;
/// while another writer holds SQLite's write lock it falls back.
#[test]
fn the_demo_office_is_read_side_by_side_unless_a_writer_holds_the_lock() {
    let demo = Demo::new();
    let (office, cfg) = (&demo.office, &demo.cfg);
    let (engine, as_of, rules, reading) = demo.engine();
    let mut conn = office.db();
    let side_by_side = |conn: &mut duban::store::Db| {
        let mut lines = Vec::new();
        let outcomes = engine
            .dry_run_side_by_side(
                conn,
                &cfg.database,
                &rules,
                &as_of,
                reading,
                3,
                &Lines,
                &mut |part| {
                    lines.extend(part);
                    Ok(())
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        outcomes.map(|o| (o.len(), lines))
    };
    let (read, lines) =
        side_by_side(&mut conn).unwrap_or_else(|| panic!("the rules were not read side by side"));
    assert_eq!(read, rules.len());
    let mut one = Vec::new();
    engine
        .dry_run(&mut conn, &rules, &as_of, reading, &mut |p| {
            duban::engine::Parts::firing(&Lines, &mut one, p)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(one.len() > 100, "{}", one.len());
    assert_eq!(lines, one);

    if conn.dialect() == duban::store::Dialect::Sqlite {
        let writer = office.db();
        writer
            .execute_batch("BEGIN IMMEDIATE")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(side_by_side(&mut conn).is_none());
        writer
            .execute_batch("ROLLBACK")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(side_by_side(&mut conn).is_some());
    }
}

/// The connections that read rules side by side read one snapshot: a
/// commit after they start is seen by none of them.
#[test]
fn side_by_side_readers_share_one_snapshot() {
    let office = Office::fixture();
    let status = |db: &duban::store::Db| -> String {
        db.query_row("SELECT status FROM problems WHERE id = 'p1'", [], |r| {
            r.get(0)
        })
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let mut conn = office.db();
    let before = status(&conn);
    let readers = duban::store::snapshot::readers(&mut conn, &office.location(), 3, &|_| Ok(true))
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no readers on an idle database"));
    let writer = office.db();
    writer
        .execute(
            "UPDATE problems SET status = 'rectified', rectified_on = '2026-05-30' WHERE id = 'p1'",
            [],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(status(&writer), before);
    for r in &readers {
        assert_eq!(status(r), before);
    }
}

/// While another writer holds its lock, a dry-run neither waits for it nor
/// fails: the same answer (on SQLite it reads its rules on one connection
/// then, as the test above shows through the library).
#[test]
fn a_dry_run_beside_a_writer_reads_on_one_connection() {
    let office = Office::fixture();
    office.policy(&format!("{LATE}\n{}", common::LADDER));
    let dry_run = || office.dry_run(&["--as-of", "2026-06-02", "--jobs", "2"]);
    let alone = dry_run();
    let writer = office.db();
    writer
        .execute_batch(match writer.dialect() {
            duban::store::Dialect::Sqlite => "BEGIN IMMEDIATE",
            duban::store::Dialect::Postgres => "BEGIN",
        })
        .unwrap_or_else(|e| panic!("{e}"));
    writer
        .execute("UPDATE persons SET name = name WHERE id = 'u1'", [])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dry_run(), alone);
    writer
        .execute_batch("ROLLBACK")
        .unwrap_or_else(|e| panic!("{e}"));
}
