//! Trust before switching on, through the binary: `explain` shows why,
//! `test` proves the policy on fixtures (the escalation ladder among them),
//! `simulate` shows the coming days — and none of them writes anything.

mod common;
use common::{APPROVAL, LADDER, Office, duban};
use predicates::str::contains;

#[test]
fn explain_shows_the_tree_the_members_and_the_episode() {
    let office = Office::fixture();
    office.policy(LADDER);
    let out = office
        .cmd()
        .args(["explain", "escalate", "p1", "--as-of", "2026-06-01"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("the rule HOLDS"), "{text}");
    // The members that made `exists` true: t1, held 42 days ago.
    assert!(text.contains("1 of 1 pass: t1 ✓"), "{text}");
    assert!(text.contains("open 未整改"), "{text}");
    assert!(text.contains("episode: none open"), "{text}");
    assert!(
        text.contains("a run now would start an episode and:"),
        "{text}"
    );
    assert!(
        text.contains("task admonishment_talk 诫勉谈话 → 王五 u3 · by 李四 u2 · due 2026-06-11"),
        "{text}"
    );

    // As data, with the SQL path's second opinion.
    let v = office.json(&["explain", "overdue_reminder", "p2", "--as-of", "2026-06-01"]);
    assert_eq!(v["holds"], false);
    assert_eq!(v["sql_holds"], false);
    let parts = v["condition"]["children"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(parts.len(), 3, "{v}");
    assert_eq!(parts[1]["text"], "overdue_days >= 30");
    assert_eq!(parts[1]["value"], false);
    assert_eq!(parts[1]["children"][0]["value"], 12);

    // After a run the episode is open and a run now does nothing more.
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success();
    office
        .cmd()
        .args(["explain", "escalate", "p1", "--as-of", "2026-06-02"])
        .assert()
        .success()
        .stdout(contains(
            "episode: open since 2026-06-01T00:00:00+08:00, fired 1 time",
        ))
        .stdout(contains("a run now would do nothing for p1"));

    office
        .cmd()
        .args(["explain", "escalate", "p99"])
        .assert()
        .code(1)
        .stderr(contains("no problem `p99`"));
    office
        .cmd()
        .args(["explain", "escalte", "p1"])
        .assert()
        .code(2)
        .stderr(contains("did you mean `escalate`"));
}

#[test]
fn explain_shows_defines_and_missing_values() {
    let office = Office::fixture();
    office.policy("define inspection.rr = rate(problems where status = \"rectified\")\nrule low\n  for inspection\n  when rr < 50% or missing(feedback_on)\n  then notify leader\n");
    let out = office
        .cmd()
        .args(["explain", "low", "i3", "--as-of", "2026-06-01"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    // i3 has no problems: the rate is missing, the comparison false.
    assert!(
        text.contains("rr = rate(problems where status = \"rectified\")"),
        "{text}"
    );
    assert!(text.contains("missing"), "{text}");
    assert!(text.contains("no members"), "{text}");
    assert!(text.contains("the rule does not hold"), "{text}");
}

#[test]
fn the_example_policy_passes_its_own_tests() {
    let office = Office::empty();
    std::fs::remove_dir_all(office.path("rules")).unwrap_or_else(|e| panic!("{e}"));
    duban()
        .arg("init")
        .arg(office.path("fresh"))
        .assert()
        .success();
    duban()
        .current_dir(office.path("fresh"))
        .arg("test")
        .assert()
        .success()
        .stdout(contains(
            "ok    rules/tests/escalation.test.toml  督办升级：提醒谈话 → 诫勉谈话 → 问责",
        ))
        .stdout(contains(
            "ok    rules/tests/approval.test.toml  问责须经巡察组组长审批",
        ))
        .stdout(contains("5 passed, 0 failed"));
}

/// An office for the ladder: p1 overdue since 2026-03-01, its reminder
/// talk held on 2026-04-15, the reminder's episode running.
const LADDER_FIXTURE: &str = r#"
as_of = "2026-06-01"
[[person]]
id = "u1"
name = "王五"
[[person]]
id = "u2"
name = "李四"
[[organization]]
id = "o1"
name = "市财政局"
discipline_officer = "u2"
[[round]]
id = "r1"
name = "第一轮"
[[inspection]]
id = "i1"
round = "r1"
organization = "o1"
[[problem]]
id = "p1"
inspection = "i1"
deadline = 2026-03-01
responsible = "u1"
[[task]]
id = "t1"
subject_type = "problem"
subject_id = "p1"
kind = "提醒谈话"
status = "done"
done_on = 2026-04-15
[[episode]]
rule = "overdue_reminder"
subject = "p1"
started = "2026-04-01"
"#;

#[test]
fn an_escalation_ladder_tested_and_failing_tests_point_to_their_line() {
    let office = Office::empty();
    office.policy(LADDER);
    let fixture = LADDER_FIXTURE;
    office.write(
        "rules/tests/ladder.test.toml",
        &format!("{fixture}\n[[expect]]\nrule = \"escalate\"\nsubject = \"p1\"\ntask = \"诫勉谈话\"\ntarget = \"u1\"\nassignee = \"u2\"\ndue = \"2026-06-11\"\n\n[[expect_not]]\nrule = \"overdue_reminder\"\n"),
    );
    office
        .cmd()
        .arg("test")
        .assert()
        .success()
        .stdout(contains("1 passed, 0 failed"));

    // Thirty days are not yet over on 2026-05-10: the same test fails there.
    office.write(
        "rules/tests/early.test.toml",
        &format!(
            "{}\n[[expect]]\nrule = \"escalate\"\nsubject = \"p1\"\ntask = \"admonishment_talk\"\n",
            fixture.replace("2026-06-01", "2026-05-10")
        ),
    );
    let out = office
        .cmd()
        .arg("test")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL  rules/tests/early.test.toml"), "{text}");
    assert!(text.contains("rules/tests/early.test.toml:37: expected rule `escalate` to give p1 an admonishment_talk task"), "{text}");
    assert!(text.contains("but rule `escalate` did nothing"), "{text}");
    assert!(text.contains("1 passed, 1 failed"), "{text}");
}

#[test]
fn simulate_replays_the_coming_days_and_writes_nothing() {
    let office = Office::fixture();
    office.policy(
        "policy \"p\"\n  schedule \"0 9 * * *\"\n\nrule late\n  for problem\n  when overdue_days > 0\n  then task reminder_talk with responsible\n  repeat every 7 days\n\nrule weekly\n  schedule \"0 9 * * 1\"\n  for inspection\n  when count(problems) > 0\n  then notify leader\n",
    );
    let before = office.dump();
    let v = office.json(&["simulate", "--days", "14", "--as-of", "2026-06-01"]);
    let fired_on = |rule: &str| -> Vec<(String, u64)> {
        v["per_day"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|d| {
                let n = d["rules"].as_array()?.iter().find(|r| r["rule"] == rule)?["firings"]
                    .as_u64()?;
                Some((d["date"].as_str()?.to_string(), n))
            })
            .collect()
    };
    // p1 and p2 are overdue: they fire on the first morning and again 7
    // days later; the 14 days end before the third.
    assert_eq!(
        fired_on("late"),
        vec![("2026-06-01".into(), 2), ("2026-06-08".into(), 2)]
    );
    // Mondays only (2026-06-01 is a Monday); once per episode.
    assert_eq!(fired_on("weekly"), vec![("2026-06-01".into(), 2)]);
    assert_eq!(office.dump(), before, "simulate wrote to the database");

    // The same against a policy without the repeat: the difference per day.
    office.write("old/p.rules", "rule late\n  for problem\n  when overdue_days > 0\n  then task reminder_talk with responsible\n");
    office
        .cmd()
        .args([
            "simulate",
            "--days",
            "14",
            "--as-of",
            "2026-06-01",
            "--against",
            "old",
        ])
        .assert()
        .success()
        .stdout(contains("2026-06-08"))
        .stdout(contains("2/0 (+2)"));
}

/// `duban test FOLDER` with `.rules` files in FOLDER tests that policy, as
/// `check` and `dry-run` take a folder — not the configured one.
#[test]
fn test_takes_a_policy_folder_as_the_policy_under_test() {
    let office = Office::empty();
    office.policy(
        "rule unrelated\n  for problem\n  when overdue_days > 1000\n  then notify responsible\n",
    );
    office.write("proposed/policy.rules", LADDER);
    office.write(
        "proposed/tests/ladder.test.toml",
        &format!(
            "{LADDER_FIXTURE}\n[[expect]]\nrule = \"escalate\"\nsubject = \"p1\"\ntask = \"诫勉谈话\"\n"
        ),
    );
    office
        .cmd()
        .args(["test", "proposed"])
        .assert()
        .success()
        .stdout(contains("1 passed, 0 failed"));
}

/// A rate reads as a percentage in `explain`, not as 0.571428571.
#[test]
fn explain_shows_rates_as_percentages() {
    let office = Office::fixture();
    office.policy("define inspection.rr = rate(problems where status = \"rectified\")\nrule low\n  for inspection\n  when rr < 50%\n  then notify leader\n");
    let out = office
        .cmd()
        .args(["explain", "low", "i1", "--as-of", "2026-06-01"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    let rate_lines: Vec<&str> = text.lines().filter(|l| l.contains("rr =")).collect();
    assert!(!rate_lines.is_empty(), "{text}");
    for l in rate_lines {
        let value = l.split_whitespace().next().unwrap_or("");
        assert!(value.ends_with('%'), "a rate shown as {value:?}:\n{text}");
    }
}

#[test]
fn the_policy_hash_does_not_depend_on_how_the_policy_was_named() {
    let office = Office::fixture();
    office.policy(LADDER);
    office.write("rules/20-more.rules", APPROVAL);
    let hash = |cmd: &mut assert_cmd::Command| {
        let out = cmd.output().unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success(), "{text}");
        let v: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        v["policy"]
            .as_str()
            .unwrap_or_else(|| panic!("{text}"))
            .to_string()
    };
    // In the office, from duban.toml.
    let here = hash(office.cmd().args(["check", "--format", "json"]));
    assert!(here.starts_with("sha256:"), "{here}");
    // From the folder above, through --config.
    let parent = office
        .dir
        .path()
        .parent()
        .unwrap_or_else(|| panic!("a parent"));
    let office_name = office
        .dir
        .path()
        .file_name()
        .unwrap_or_else(|| panic!("a name"))
        .to_string_lossy()
        .to_string();
    let above = hash(
        duban()
            .current_dir(parent)
            .arg("--config")
            .arg(format!("{office_name}/duban.toml"))
            .args(["check", "--format", "json"]),
    );
    // The folder named explicitly, relatively and absolutely.
    let relative = hash(office.cmd().args(["check", "./rules/", "--format", "json"]));
    let absolute = hash(
        office
            .cmd()
            .arg("check")
            .arg(office.path("rules"))
            .args(["--format", "json"]),
    );
    assert_eq!(here, above);
    assert_eq!(here, relative);
    assert_eq!(here, absolute);
    // And a run records that same hash.
    office
        .cmd()
        .args(["run", "--as-of", "2026-06-01"])
        .assert()
        .success();
    assert_eq!(
        office.count(&format!(
            "SELECT count(*) FROM runs WHERE policy_hash <> '{here}'"
        )),
        0
    );
}
