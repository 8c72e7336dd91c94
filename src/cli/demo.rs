//! `duban demo [--scale N]`: a demo office on disk, ready to use.

use super::evaluate::load_policy;
use crate::clock::{AsOf, Clock};
use crate::config::{Config, DEFAULT_FILE, TEMPLATE};
use crate::demo::{Counts, CsvSink, DbSink, Options, generate};
use crate::engine::{Engine, RunOptions};
use crate::error::{Context, Error, Result};
use chrono::NaiveDate;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The file that marks a folder as a demo office duban may replace.
const MARKER: &str = ".duban-demo";

/// Build a demo office on disk and run the example policy once.
///
/// Realistic Chinese organizations, persons, rounds, inspections and
/// problems around today, with the example policy.
///
/// Everything lands in one folder (default ./duban-demo): duban.toml,
/// rules/, duban.db, ledgers/ (the same data as CSV, in the import format).
/// Running demo again replaces the demo office it made before.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  duban demo                       a district office, about 600 problems\n  duban demo --scale 1800          about a million problems (a benchmark)\n  duban demo --dir /tmp/office --seed 7 --as-of 2026-12-01"
)]
pub struct Args {
    /// Size: each unit is a district of 12 organizations and about 600 problems.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    scale: u64,
    /// The same seed and date give the same office.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// The office folder.
    #[arg(long, default_value = "duban-demo")]
    dir: PathBuf,
    /// "Today" for the generated data (default: today).
    #[arg(long, value_name = "DATE")]
    as_of: Option<NaiveDate>,
    /// Also write the data as CSV ledgers into this folder.
    #[arg(long, value_name = "DIR")]
    csv: Option<PathBuf>,
    /// Only build the office; do not run the policy.
    #[arg(long)]
    no_run: bool,
    /// Where its workbench (`duban web`) listens.
    #[arg(long, value_name = "ADDR", default_value = crate::config::DEFAULT_LISTEN)]
    listen: String,
    /// The address notices link to (default: http:// and the listen address).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
}

/// The demo's `[web]`: its workbench on `listen`, and notices linking to
/// `public_url` (by default the address it listens at).
fn demo_web(listen: &str, public_url: Option<&str>) -> String {
    let url = public_url
        .map(str::to_string)
        .unwrap_or_else(|| format!("http://{listen}"));
    format!(
        "\n[web]\nlisten = {}\npublic_url = {}\n",
        toml_string(listen),
        toml_string(&url)
    )
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

pub fn run(args: Args) -> Result<ExitCode> {
    let today = args
        .as_of
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    prepare_dir(&args.dir)?;
    let opts = Options {
        scale: args.scale,
        seed: args.seed,
        today,
    };
    let config = args.dir.join(DEFAULT_FILE);
    let web = demo_web(&args.listen, args.public_url.as_deref());
    crate::private::write(&config, format!("{TEMPLATE}{web}").as_bytes())
        .context(|| format!("writing {}", config.display()))?;
    crate::example::write_policy(&args.dir.join("rules")).context(|| "writing rules/".into())?;
    let db = args.dir.join("duban.db");
    let mut conn = crate::store::create_file(&db)?;
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message(format!("generating a demo office at scale {}", args.scale));
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let tx = conn.transaction()?;
    let counts = generate(&opts, &mut DbSink::new(&tx))?;
    tx.commit()?;
    spinner.finish_and_clear();
    let ledgers = args.csv.clone().unwrap_or_else(|| args.dir.join("ledgers"));
    if args.csv.is_some() || args.scale <= 10 {
        let mut sink = CsvSink::new(&ledgers)?;
        generate(&opts, &mut sink)?;
        sink.finish()?;
    }
    print_office(&args.dir, &counts, today);
    if !args.no_run {
        run_policy(&args.dir, &mut conn, args.as_of)?;
    }
    demo_accounts(&conn, args.scale)?;
    Ok(ExitCode::SUCCESS)
}

/// The demo's password of its workbench accounts.
pub const DEMO_PASSWORD: &str = "duban-demo";

/// Workbench accounts of the demo office: the office's director (admin),
/// a staff member (office) and the busiest discipline officer (member).
fn demo_accounts(conn: &crate::store::Db, scale: u64) -> Result<()> {
    let (director, staff) = crate::demo::office_staff(scale);
    let member = crate::store::tasks::busiest_assignee(conn)?;
    // The leader asked to approve the newest request, if the run made one.
    let approver = crate::store::approvals::list(conn, true, None)?
        .into_iter()
        .map(|a| a.approver)
        .find(|a| member.as_deref() != Some(a.as_str()));
    let hash = crate::web::auth::hash_password(DEMO_PASSWORD)?;
    let now = crate::clock::utc_text(super::clock().now());
    use crate::store::accounts::{Role, add};
    add(conn, &director, Role::Admin, Some(&hash), &now)?;
    add(conn, &staff, Role::Office, Some(&hash), &now)?;
    for m in member.iter().chain(approver.iter()) {
        add(conn, m, Role::Member, Some(&hash), &now)?;
    }
    println!(
        "
the workbench:"
    );
    println!(
        "  {}  then open http://{}",
        crate::text::pad(&format!("{} web", invocation()), 30),
        crate::config::DEFAULT_LISTEN
    );
    println!(
        "  sign in as {director} (admin) or {staff} (office){}{}, password {DEMO_PASSWORD}",
        member
            .map(|m| format!(", or {m} (member: the discipline officer with the most open tasks)"))
            .unwrap_or_default(),
        approver
            .map(|a| format!(
                ", or {a} (member: an inspection leader with requests to approve, 待审批)"
            ))
            .unwrap_or_default()
    );
    Ok(())
}

/// Runs the example policy once and delivers to the file outbox.
fn run_policy(
    dir: &Path,
    conn: &mut crate::store::Db,
    as_of: Option<NaiveDate>,
) -> Result<ExitCode> {
    let cfg = Config::load(Some(&dir.join(DEFAULT_FILE)))?;
    let policy = load_policy(std::slice::from_ref(&cfg.rules), &cfg)?;
    let tz = policy.tz;
    let clock = super::clock();
    let at = match as_of {
        Some(d) => AsOf::start_of(d, tz),
        None => AsOf::new(clock.now(), tz),
    };
    let engine = Engine::for_office(&policy, &cfg)?;
    let rules: Vec<usize> = (0..policy.rules.len()).collect();
    let outcomes = engine.run(
        conn,
        &rules,
        &at,
        &RunOptions::new("run", &clock),
        &mut |_| Ok(()),
    )?;
    let stats = crate::deliver::outbox::deliver_configured(&cfg, conn, &clock)?;
    println!(
        "\nran the example policy ({} rules) as of {}:",
        policy.rules.len(),
        at.rfc3339()
    );
    for (kind, n) in crate::store::tasks::created_by_kind(conn)? {
        let label = policy.task_kind_label(&kind).unwrap_or_default();
        println!("  {n:>6}  {label} ({kind})");
    }
    let skipped: u64 = outcomes.iter().map(|o| o.skipped).sum();
    println!(
        "  {} notices delivered to {}{}",
        stats.sent,
        cfg.mail.outbox_dir.display(),
        if skipped > 0 {
            format!("; {skipped} actions skipped (people without an email or a responsible person)")
        } else {
            String::new()
        }
    );
    let duban = invocation();
    println!("\nnext:");
    println!("  cd {}", dir.display());
    for (args, what) in [
        ("status", "what was done and what waits"),
        ("tasks list --open", "the interview tasks"),
        (
            "approvals list",
            "the harsher steps waiting for a leader (审批)",
        ),
        ("dry-run", "what the next run would do"),
    ] {
        println!(
            "  {}  {what}",
            crate::text::pad(&format!("{duban} {args}"), 30)
        );
    }
    println!(
        "  {}  the notices, one .eml each",
        crate::text::pad("ls outbox/", 30)
    );
    Ok(ExitCode::SUCCESS)
}

/// How to run this duban from a shell: `duban` when that name on the PATH
/// is this program, else the program's own path (after `cargo run`).
fn invocation() -> String {
    let Ok(me) = std::env::current_exe().and_then(|p| p.canonicalize()) else {
        return "duban".into();
    };
    let on_path = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths)
            .filter_map(|d| d.join("duban").canonicalize().ok())
            .any(|p| p == me)
    });
    if on_path {
        "duban".into()
    } else {
        me.display().to_string()
    }
}

/// Creates the folder, or empties one that an earlier demo made.
fn prepare_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir)?.next().is_none();
        if dir.join(MARKER).exists() {
            std::fs::remove_dir_all(dir)
                .context(|| format!("clearing the old demo in {}", dir.display()))?;
        } else if !empty {
            return Err(Error::invalid(format!(
                "{} exists and is not a demo office; give another --dir",
                dir.display()
            )));
        }
    }
    std::fs::create_dir_all(dir).context(|| format!("creating {}", dir.display()))?;
    std::fs::write(
        dir.join(MARKER),
        "made by `duban demo`; running it again replaces this folder\n",
    )?;
    Ok(())
}

fn print_office(dir: &Path, c: &Counts, today: NaiveDate) {
    println!("demo office in {} (as of {today}):", dir.display());
    println!(
        "  {} organizations, {} persons, {} rounds, {} inspections, {} problems, {} earlier tasks (reminder talks, written self-criticisms)",
        c.organizations, c.persons, c.rounds, c.inspections, c.problems, c.tasks
    );
}
