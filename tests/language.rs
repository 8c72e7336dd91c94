//! The rule language through the binary: the example policy and SPEC §3's
//! examples check clean, every policy of the invalid corpus gives the
//! diagnostic snapshotted for it, and `fmt` is idempotent and keeps what
//! the policy means.

mod common;
use common::{duban, fixture};
use duban::lang::check::{Checked, check};
use duban::lang::diagnostics::SourceMap;
use duban::lang::format::format;
use duban::lang::parse::parse;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn files_in(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rules"))
        .collect();
    v.sort();
    v
}

#[test]
fn the_example_policy_checks_clean() {
    let out = duban()
        .current_dir(root())
        .args(["check", "rules/"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("ok: "), "no warnings either: {text}");
    // At least ten rules, two of them in Chinese keywords.
    let json = duban()
        .current_dir(root())
        .args(["check", "rules/", "--format", "json"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value =
        serde_json::from_slice(&json.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        v["rules"].as_array().map(|r| r.len()).unwrap_or(0) >= 10,
        "{v}"
    );
    let chinese =
        std::fs::read_to_string(root().join("rules/40-chinese.rules")).unwrap_or_default();
    assert!(chinese.matches("\n规则 ").count() + usize::from(chinese.starts_with("规则 ")) >= 2);
}

#[test]
fn the_spec_examples_check_clean() {
    duban()
        .current_dir(root())
        .args(["check", "tests/fixtures/spec.rules"])
        .assert()
        .success()
        .stdout(predicates::str::starts_with("ok: 6 rules"));
}

/// Every file of `tests/invalid/` with the human output of `duban check`
/// snapshotted; a file named `*-warning` has warnings only.
#[test]
fn the_invalid_corpus() {
    let files = files_in("tests/invalid");
    assert!(files.len() >= 40, "the corpus has {} policies", files.len());
    for f in files {
        let rel = f
            .strip_prefix(root())
            .unwrap_or(&f)
            .to_string_lossy()
            .into_owned();
        let name = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let out = duban()
            .current_dir(root())
            .args(["check", &rel])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let expect_code = if name.ends_with("warning") { 0 } else { 1 };
        assert_eq!(out.status.code(), Some(expect_code), "{rel}:\n{text}");
        insta::assert_snapshot!(name.clone(), text);

        // The same findings as data: each with a code, a line and a column.
        let out = duban()
            .current_dir(root())
            .args(["check", &rel, "--format", "json"])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let diags = v["diagnostics"].as_array().cloned().unwrap_or_default();
        assert!(!diags.is_empty(), "{rel}");
        for d in diags {
            assert!(
                d["line"].as_u64().unwrap_or(0) >= 1 && d["column"].as_u64().unwrap_or(0) >= 1,
                "{rel}: {d}"
            );
            assert!(
                d["code"].as_str().is_some_and(|c| c.len() == 4),
                "{rel}: {d}"
            );
            assert_eq!(d["file"], rel.as_str());
        }
    }
}

fn check_text(name: &str, text: &str) -> Checked {
    let mut sources = SourceMap::default();
    sources.add(name, text);
    check(sources)
}

/// Whether two checked policies mean the same: the same rules, defines,
/// templates and task kinds as the compiler sees them (IR expressions
/// compare without their positions), or the same error codes.
fn same_meaning(a: &Checked, b: &Checked) -> Result<(), String> {
    let (Some(p), Some(q)) = (&a.policy, &b.policy) else {
        let codes = |c: &Checked| {
            c.diagnostics
                .iter()
                .map(|d| d.code.id())
                .collect::<Vec<_>>()
        };
        return if codes(a) == codes(b) {
            Ok(())
        } else {
            Err(format!("{:?} vs {:?}", codes(a), codes(b)))
        };
    };
    if p.rules.len() != q.rules.len()
        || p.defines.len() != q.defines.len()
        || p.templates.len() != q.templates.len()
    {
        return Err("different numbers of items".into());
    }
    for (r, s) in p.rules.iter().zip(&q.rules) {
        let same = r.name == s.name
            && r.title == s.title
            && r.entity == s.entity
            && r.schedule == s.schedule
            && r.when == s.when
            && r.actions == s.actions
            && r.repeat == s.repeat
            && r.facts
                .iter()
                .map(|f| &f.label)
                .eq(s.facts.iter().map(|f| &f.label));
        if !same {
            return Err(format!("rule {} differs", r.name));
        }
    }
    for (d, e) in p.defines.iter().zip(&q.defines) {
        if d.entity != e.entity || d.name != e.name || d.expr != e.expr {
            return Err(format!("define {} differs", d.name));
        }
    }
    for (t, u) in p.templates.iter().zip(&q.templates) {
        if t.name != u.name || t.subject != u.subject || t.body != u.body || t.paths != u.paths {
            return Err(format!("template {} differs", t.name));
        }
    }
    if (&p.task_kinds, &p.name, &p.timezone, &p.schedule)
        != (&q.task_kinds, &q.name, &q.timezone, &q.schedule)
    {
        return Err("the header or task kinds differ".into());
    }
    Ok(())
}

#[test]
fn fmt_is_idempotent_and_keeps_the_meaning() {
    let mut files = files_in("rules");
    files.extend(files_in("tests/fixtures"));
    files.extend(files_in("tests/invalid"));
    let mut formatted_any = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{e}"));
        let (ast, diags) = parse(0, &text);
        if !diags.is_empty() {
            continue; // syntax errors: fmt leaves such files alone
        }
        formatted_any += 1;
        let once = format(&text, &ast);
        let (ast2, diags2) = parse(0, &once);
        assert!(
            diags2.is_empty(),
            "{}: formatting broke the syntax:\n{once}",
            f.display()
        );
        let twice = format(&once, &ast2);
        assert_eq!(once, twice, "{}: not idempotent", f.display());
        if let Err(why) = same_meaning(&check_text("a.rules", &text), &check_text("a.rules", &once))
        {
            panic!(
                "{}: the formatted policy means something else: {why}",
                f.display()
            );
        }
        let comments = |s: &str| {
            s.lines()
                .filter_map(|l| l.find('#').map(|i| l[i..].trim_end().to_string()))
                .count()
        };
        assert!(
            comments(&once) >= comments(&text).min(1),
            "{}: comments lost",
            f.display()
        );
    }
    assert!(formatted_any >= 40);
}

#[test]
fn fmt_command_checks_writes_and_keeps_chinese() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("a.rules");
    std::fs::write(&file, "# 说明\n规则   逾期提醒 针对 问题 # 主体\n 当 状态!=\"已整改\" 且 逾期天数>=30\n则 交办 提醒谈话 与 责任人\n").unwrap_or_else(|e| panic!("{e}"));
    duban()
        .arg("fmt")
        .arg("--check")
        .arg(&file)
        .assert()
        .code(1)
        .stdout(predicates::str::contains("would reformat"));
    duban().arg("fmt").arg(&file).assert().success();
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    assert_eq!(
        text,
        "# 说明\n规则 逾期提醒\n  针对 问题  # 主体\n  当 状态 != \"已整改\" 且 逾期天数 >= 30\n  则 交办 提醒谈话 与 责任人\n"
    );
    duban()
        .arg("fmt")
        .arg("--check")
        .arg(&file)
        .assert()
        .success();
    // A file with a syntax error is left alone, and said so.
    std::fs::write(&file, "rule r \"oops\n").unwrap_or_else(|e| panic!("{e}"));
    duban()
        .arg("fmt")
        .arg(&file)
        .assert()
        .code(1)
        .stdout(predicates::str::contains("unterminated string"));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap_or_default(),
        "rule r \"oops\n"
    );
}

#[test]
fn check_reads_the_config_rules_folder_and_gbk_files() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir(dir.path().join("policy")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("duban.toml"), "rules = \"policy\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let (gbk, _, _) = encoding_rs::GB18030
        .encode("规则 逾期\n  针对 问题\n  当 逾期天数 > 30\n  则 通知 责任人\n");
    std::fs::write(dir.path().join("policy/a.rules"), &gbk).unwrap_or_else(|e| panic!("{e}"));
    duban()
        .current_dir(dir.path())
        .arg("check")
        .assert()
        .success();
    // No config and no rules folder: a clear error, exit 1.
    let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    duban()
        .current_dir(empty.path())
        .arg("check")
        .assert()
        .code(1)
        .stderr(predicates::str::contains("rules"));
    let _ = fixture("spec.rules");
}

/// docs/LANGUAGE.md embeds `duban schema`'s output; they stay the same.
#[test]
fn the_language_reference_shows_the_schema_as_it_is() {
    let doc = std::fs::read_to_string(root().join("docs/LANGUAGE.md")).unwrap_or_default();
    let generated = duban::cli::schema::reference();
    let expected = format!("<!-- duban schema: begin -->\n{generated}<!-- duban schema: end -->");
    assert!(
        doc.contains(&expected),
        "docs/LANGUAGE.md is out of date: replace its schema section with the output of `duban schema`"
    );
}
