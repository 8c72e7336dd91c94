//! Policy analysis (SPEC §14) through the binary: a corpus of policies with
//! known answers (tests/analysis/*.rules, each naming what it must give in
//! `# expect:`, `# silenced:` and `# undecided:` lines), every witness
//! confirmed by the SQL engine (imported into an office and dry-run on its
//! date), the example policy's overlaps, and an office's counts against
//! its own dry-run.

mod common;

use common::{Office, duban, subjects_of};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/analysis");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rules"))
        .collect();
    files.sort();
    files
}

/// `check --analyze --format json` of a policy, outside any office.
fn analyze(policy: &Path) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = duban()
        .current_dir(dir.path())
        .env("DUBAN_NOW", "2026-12-01T09:00:00+08:00")
        .args(["check", "--analyze", "--format", "json"])
        .arg(policy)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"))
}

/// "CODE rule rule" per finding of a list.
fn named(list: &serde_json::Value) -> BTreeSet<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    let mut words = vec![f["code"].as_str().unwrap_or("").to_string()];
                    if let Some(rules) = f["rules"].as_array() {
                        for r in rules {
                            words.push(
                                r.as_str()
                                    .or_else(|| r["name"].as_str())
                                    .unwrap_or("")
                                    .to_string(),
                            );
                        }
                    }
                    words.join(" ")
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The lines `# KEY: …` of a corpus file (`none` for no line).
fn header(text: &str, key: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix(&format!("# {key}: ")))
        .map(|l| l.trim().to_string())
        .filter(|l| l != "none")
        .collect()
}

#[test]
fn the_corpus_gives_its_known_answers() {
    let files = corpus();
    assert!(files.len() >= 8, "the corpus is there");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{e}"));
        let json = analyze(&f);
        let name = f.display();
        assert_eq!(named(&json["findings"]), header(&text, "expect"), "{name}");
        assert_eq!(
            named(&json["silenced"]),
            header(&text, "silenced"),
            "{name}"
        );
        let undecided: BTreeSet<String> = json["undecided"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|u| {
                        let rules: Vec<&str> = u["rules"]
                            .as_array()
                            .map(|r| r.iter().filter_map(|x| x.as_str()).collect())
                            .unwrap_or_default();
                        rules.join(" ")
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(undecided, header(&text, "undecided"), "{name}");
        // Every finding is also a warning with its code, at a rule.
        for finding in json["findings"].as_array().into_iter().flatten() {
            let code = finding["code"].as_str().unwrap_or("");
            assert!(
                json["diagnostics"].as_array().is_some_and(|d| d
                    .iter()
                    .any(|d| d["code"] == code && d["line"].as_u64() > Some(0))),
                "{name}: {code} among the diagnostics"
            );
        }
    }
}

#[test]
fn the_human_form_names_both_rules_with_carets_and_an_example() {
    let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/analysis/overlap.rules");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = duban()
        .current_dir(dir.path())
        .env("DUBAN_NOW", "2026-12-01T09:00:00+08:00")
        .args(["check", "--analyze"])
        .arg(&f)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("[W010] Warning: rules `serious_overdue` and `long_overdue`"),
        "{text}"
    );
    assert!(text.contains("overlap.rules:9:6"), "{text}");
    assert!(text.contains("overlap.rules:4:6"), "{text}");
    assert!(text.contains("───┬"), "carets: {text}");
    assert!(text.contains("for example severity = serious"), "{text}");
    assert!(text.contains("overdue_days = 60"), "{text}");
}

/// A witness's records as import files: one CSV per table, references as
/// `_id` columns, required cells the witness leaves open filled in (and the
/// records they need made), so that the office's import takes them.
fn import_files(office: &Office, witness: &serde_json::Value) {
    use duban::schema::{Entity, FieldType};
    let mut rows: BTreeMap<Entity, Vec<BTreeMap<String, String>>> = BTreeMap::new();
    let mut have: BTreeSet<(Entity, String)> = BTreeSet::new();
    let mut todo: Vec<(Entity, String, BTreeMap<String, String>)> = Vec::new();
    for r in witness["records"].as_array().into_iter().flatten() {
        let Some(e) = Entity::lookup(r["entity"].as_str().unwrap_or("")) else {
            panic!("entity of {r}")
        };
        let id = r["id"].as_str().unwrap_or("").to_string();
        let mut cells = BTreeMap::new();
        for (k, v) in r["fields"].as_object().into_iter().flatten() {
            let f = e.field(k).unwrap_or_else(|| panic!("{k}"));
            let col = f.column().unwrap_or_else(|| k.clone());
            cells.insert(col, v.as_str().map(str::to_string).unwrap_or(v.to_string()));
        }
        todo.push((e, id, cells));
    }
    while let Some((e, id, mut cells)) = todo.pop() {
        if !have.insert((e, id.clone())) {
            continue;
        }
        cells.insert("id".into(), id.clone());
        for f in e.def().fields.iter().filter(|f| f.is_stored()) {
            let Some(col) = f.column() else { continue };
            if cells.contains_key(&col) || !(f.required || f.needed) || f.default.is_some() {
                continue;
            }
            let value = match f.ty {
                FieldType::Ref(target) => {
                    let other = format!("filled-{}", target.name());
                    todo.push((target, other.clone(), BTreeMap::new()));
                    other
                }
                FieldType::Date => "2030-01-01".into(),
                FieldType::TaskKind => "follow_up_visit".into(),
                FieldType::Enum(d) => d.values[0].0.into(),
                _ => format!("filled {}", f.name),
            };
            cells.insert(col, value);
        }
        rows.entry(e).or_default().push(cells);
    }
    for (e, rs) in rows {
        let cols: BTreeSet<&String> = rs.iter().flat_map(|r| r.keys()).collect();
        let cols: Vec<&String> = cols.into_iter().collect();
        let mut csv = cols
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(",");
        csv.push('\n');
        for r in &rs {
            let line: Vec<&str> = cols
                .iter()
                .map(|c| r.get(*c).map(String::as_str).unwrap_or(""))
                .collect();
            csv.push_str(&line.join(","));
            csv.push('\n');
        }
        office.write(&format!("import/{}.csv", e.table()), &csv);
    }
}

#[test]
fn every_witness_holds_for_both_rules_on_the_sql_path() {
    let mut checked = 0;
    for f in corpus() {
        let json = analyze(&f);
        for finding in json["findings"].as_array().into_iter().flatten() {
            let Some(w) = finding.get("witness") else {
                continue;
            };
            let office = Office::empty();
            import_files(&office, w);
            office
                .cmd()
                .arg("import")
                .arg(office.path("import"))
                .assert()
                .success();
            let as_of = w["as_of"].as_str().unwrap_or("");
            let run = office.dry_run(&[f.to_str().unwrap_or(""), "--as-of", as_of, "--fresh"]);
            let subject = w["subject"].as_str().unwrap_or("");
            for r in finding["rules"].as_array().into_iter().flatten() {
                let rule = r["name"].as_str().unwrap_or("");
                let fired = subjects_of(&run["actions"], rule).contains(subject)
                    || subjects_of(&run["skipped"], rule).contains(subject);
                assert!(fired, "{}: {rule} holds for {subject}: {run}", f.display());
            }
            checked += 1;
        }
    }
    assert!(checked >= 3, "witnesses checked: {checked}");
}

#[test]
fn the_example_policy_has_the_overlaps_the_readme_names() {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let json = analyze(&rules);
    let expected: BTreeSet<String> = [
        "W010 low_rate report_due_soon",
        "W010 low_rate accountability_step",
        "W010 low_rate 整改率过低约谈",
        "W010 report_due_soon accountability_step",
        "W010 report_due_soon 整改率过低约谈",
        "W010 accountability_step 整改率过低约谈",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(named(&json["findings"]), expected);
}

#[test]
fn in_an_office_each_overlap_is_counted_as_its_dry_run_counts_it() {
    let o = Office::demo(2, "2026-11-22");
    let out = o
        .cmd()
        .env("DUBAN_NOW", "2026-11-22T09:00:00+08:00")
        .args(["check", "--analyze", "--format", "json"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let run = o.dry_run(&["--as-of", "2026-11-22", "--fresh"]);
    let holding = |rule: &str| -> BTreeSet<String> {
        let mut s = subjects_of(&run["actions"], rule);
        s.extend(subjects_of(&run["skipped"], rule));
        s
    };
    let mut overlaps = 0;
    for f in json["findings"].as_array().into_iter().flatten() {
        if f["code"] != "W010" {
            continue;
        }
        overlaps += 1;
        let a = f["rules"][0]["name"].as_str().unwrap_or("");
        let b = f["rules"][1]["name"].as_str().unwrap_or("");
        let both: BTreeSet<String> = holding(a).intersection(&holding(b)).cloned().collect();
        assert_eq!(
            f["office"]["count"].as_u64(),
            Some(both.len() as u64),
            "{a} × {b}"
        );
        let named: BTreeSet<String> = f["office"]["subjects"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect();
        assert_eq!(named.len(), both.len().min(3), "{a} × {b}");
        assert!(named.is_subset(&both), "{a} × {b}: {named:?} ⊄ {both:?}");
    }
    assert!(overlaps > 0);
}

#[test]
fn the_workbench_rules_page_says_the_findings_in_words_with_the_counts() {
    let o = Office::demo(2, "2026-11-22");
    let person: String = o
        .db()
        .query_row("SELECT id FROM persons ORDER BY id LIMIT 1", [], |r| {
            r.get(0)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    common::web::add_user(&o, &person, "office", "correct horse 1");
    let w = common::web::Workbench::start(&o, "2026-11-22T09:00:00+08:00");
    let s = w.sign_in(&person, "correct horse 1");
    let page = w.get("/rules", &s);
    assert_eq!(page.status, 200);
    let body = &page.body;
    assert!(body.contains("规则检查"), "{body}");
    // Rule titles and plain words, the count on today's data.
    assert!(
        body.contains("「整改落实到位率低于70% → 书面检查」与「书面检查满60天整改率仍低于70% → 问责（须审批）」可能重复"),
        "{body}"
    );
    assert!(body.contains("都会通知组织书记"), "{body}");
    assert!(body.contains("个巡察同时满足两条规则"), "{body}");
    // Each named inspection links to its page (minijinja escapes the `/`).
    assert!(
        body.contains("href=\"&#x2f;inspections&#x2f;I") || body.contains("href=\"/inspections/I"),
        "{body}"
    );
    // No codes, no rule text.
    let section = body.split("id=\"analysis\"").nth(1).unwrap_or("");
    let section = section.split("</section>").next().unwrap_or("");
    for word in [
        "W010",
        "W011",
        "organization.secretary",
        "rate(",
        "low_rate",
    ] {
        assert!(!section.contains(word), "{word} in {section}");
    }
}

#[test]
fn test_coverage_names_untested_rules_and_one_sided_comparisons() {
    let o = Office::empty();
    o.policy(
        r#"rule talk "逾期30天 → 提醒谈话"
  for problem
  when overdue_days >= 30 and severity = "serious"
  then task reminder_talk with responsible

rule idle "从未测试"
  for inspection
  when days_since(feedback_on) >= 90
  then notify leader
"#,
    );
    o.write(
        "rules/tests/talk.test.toml",
        r#"as_of = "2026-06-01"
[[person]]
id = "u1"
name = "张三"
[[organization]]
id = "o1"
name = "市教育局"
[[round]]
id = "r1"
name = "第六轮"
[[inspection]]
id = "i1"
round = "r1"
organization = "o1"
[[problem]]
id = "p1"
inspection = "i1"
deadline = "2026-04-01"
severity = "serious"
responsible = "u1"
[[problem]]
id = "p2"
inspection = "i1"
deadline = "2026-07-01"
severity = "serious"
responsible = "u1"
[[expect]]
rule = "talk"
subject = "p1"
task = "reminder_talk"
"#,
    );
    let out = o
        .cmd()
        .args(["test", "--coverage"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("coverage: 1 of 2 rules"), "{text}");
    assert!(text.contains("talk held yes  not held yes"), "{text}");
    assert!(text.contains("idle held NO   not held yes"), "{text}");
    assert!(
        text.contains("policy.rules:3:31 `severity = \"serious\"` never false"),
        "{text}"
    );
    assert!(
        text.contains("policy.rules:8:8 `days_since(feedback_on) >= 90` never true"),
        "{text}"
    );
    assert!(!text.contains("`overdue_days >= 30`"), "both ways: {text}");
}
