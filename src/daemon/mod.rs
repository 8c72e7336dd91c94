//! `duban serve`: the service that works every morning without anyone
//! touching it.
//!
//! - A scheduler evaluates each rule at its cron times (its own schedule,
//!   else the policy's, else 09:00 daily), in the policy's time zone. After
//!   downtime, a rule whose time passed runs once — not once per missed time
//!   — and the decision is logged. The time each rule last ran for lives in
//!   the database (`schedule_state`), written in the rule's own transaction.
//! - A delivery worker sends the outbox continuously.
//! - A watcher reloads the policy when a file of the rules folder changes:
//!   a policy that fails `check` is refused (its errors logged with
//!   file:line:column) and the running one kept; a valid one replaces it
//!   between evaluations, keeping the episodes (they are kept by rule name).
//! - SIGTERM or SIGINT: no new work is taken; the rule transaction in flight
//!   commits, the notice being sent is marked; then exit 0.
//!
//! - Several services may share one database: one leads (the lease in
//!   [`lead`]), the others stand by and take over when it ends or dies.
//!
//! Evaluations and deliveries run on blocking threads with connections of
//! their own.

pub mod due;
pub mod lead;

use crate::clock::{AsOf, Clock};
use crate::config::Config;
use crate::engine::{Engine, RunOptions};
use crate::error::{Error, Result};
use crate::lang::ir::Policy;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tracing::{debug, error, info, warn};

/// Opens a transport for one delivery round (the configured one; tests
/// may give their own).
pub type TransportFactory =
    dyn Fn(&Config) -> Result<Box<dyn crate::deliver::transport::Transport>> + Send + Sync;

pub struct Options {
    /// Run what is due, deliver, and exit.
    pub once: bool,
    /// Serve the workbench too, when `[web]` is set.
    pub web: bool,
    /// How often the delivery worker looks at the outbox.
    pub delivery_poll: Duration,
    /// The wall clock: the command line gives the system clock.
    pub clock: Arc<dyn Clock>,
    pub transport: Arc<TransportFactory>,
}

/// What the tasks of the service share.
struct Shared {
    cfg: Config,
    policy: Mutex<Arc<Policy>>,
    clock: Arc<dyn Clock>,
    transport: Arc<TransportFactory>,
    /// Set on SIGTERM/SIGINT: take no new work.
    stop: AtomicBool,
    /// Set on SIGTERM/SIGINT, and when the lease is lost: the rules and
    /// notices not yet begun are left to the next leader.
    halt: AtomicBool,
    wake_delivery: Notify,
    /// The leader this service last said it stands by for.
    standing_by: Mutex<Option<String>>,
}

impl Shared {
    fn policy(&self) -> Arc<Policy> {
        match self.policy.lock() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Stopping, or no longer leading.
    fn halted(&self) -> bool {
        self.halt.load(Ordering::SeqCst)
    }
}

/// Runs the service until a signal (or, with `once`, until done).
pub fn serve(cfg: Config, opts: Options) -> Result<()> {
    // The database must exist; `serve` does not create one.
    drop(crate::store::open(&cfg.database)?);
    let policy = load(&cfg)?;
    let shared = Arc::new(Shared {
        cfg,
        policy: Mutex::new(Arc::new(policy)),
        clock: opts.clock.clone(),
        transport: opts.transport.clone(),
        stop: AtomicBool::new(false),
        halt: AtomicBool::new(false),
        wake_delivery: Notify::new(),
        standing_by: Mutex::new(None),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::failed("starting the service", e))?;
    runtime.block_on(service(shared, opts))
}

/// Loads and checks the configured policy; its errors, rendered, on failure.
fn load(cfg: &Config) -> Result<Policy> {
    let checked = crate::policy::load(
        std::slice::from_ref(&cfg.rules),
        cfg.timezone,
        &cfg.channel_names(),
    )?;
    let errors = checked.error_count();
    match checked.policy {
        Some(p) => Ok(p),
        None => {
            let rendered: Vec<String> = checked
                .diagnostics
                .iter()
                .map(|d| checked.sources.render(d, false))
                .collect();
            Err(Error::invalid(format!(
                "the policy has {errors} error{}:\n{}",
                if errors == 1 { "" } else { "s" },
                rendered.join("")
            )))
        }
    }
}

async fn service(shared: Arc<Shared>, opts: Options) -> Result<()> {
    let (shutdown_tx, shutdown) = watch::channel(false);
    {
        let shared = shared.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            info!("signal received: finishing the work in flight, then stopping");
            shared.stop.store(true, Ordering::SeqCst);
            shared.halt.store(true, Ordering::SeqCst);
            let _ = shutdown_tx.send(true);
        });
    }
    let web = match (&shared.cfg.web, opts.once) {
        (Some(_), false) if opts.web => {
            // Opening the workbench connects to the database: off the
            // runtime's threads, as every database call here is.
            let (cfg, clock) = (shared.cfg.clone(), shared.clock.clone());
            let app = tokio::task::spawn_blocking(move || crate::web::App::new(cfg, clock))
                .await
                .map_err(|e| Error::failed("starting the workbench", e))??;
            let app = Arc::new(app);
            let listener = crate::web::bind(&app).await?;
            Some(tokio::spawn(crate::web::serve(
                listener,
                app,
                shutdown.clone(),
            )))
        }
        _ => None,
    };
    let policy = shared.policy();
    info!(
        policy = %policy.hash,
        rules = policy.rules.len(),
        database = %shared.cfg.database.display(),
        "duban serve starting{}",
        if opts.once { " (once)" } else { "" }
    );

    if opts.once {
        if take_lease(&shared).await {
            info!("leading: this service runs what is due and delivers, once");
            run_due(&shared, true).await;
            deliver(&shared).await;
            release_lease(&shared).await;
        }
        info!("done");
        return Ok(());
    }

    let (changes_tx, mut changes) = tokio::sync::mpsc::channel::<()>(64);
    let _watcher = watch_rules(&shared.cfg.rules, changes_tx);
    let mut shutdown_rx = shutdown.clone();
    loop {
        if shared.stopping() {
            break;
        }
        if take_lease(&shared).await {
            lead(&shared, &opts, &mut changes, &shutdown).await;
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(lead::LOOK) => {}
            Some(()) = changes.recv() => {
                tokio::time::sleep(Duration::from_millis(300)).await;
                while changes.try_recv().is_ok() {}
                reload(&shared).await;
            }
            _ = shutdown_rx.changed() => {}
        }
    }
    if let Some(web) = web {
        match web.await {
            Ok(Err(e)) => error!("workbench: {e}"),
            Err(e) => error!("workbench: {e}"),
            Ok(Ok(())) => {}
        }
    }
    info!("stopped");
    Ok(())
}

/// Takes the lease if this service may lead; says who leads when another
/// does (once per leader).
async fn take_lease(shared: &Arc<Shared>) -> bool {
    let s = shared.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<(bool, Option<String>)> {
        if lead::take(&s.cfg)? {
            return Ok((true, None));
        }
        Ok((false, lead::leader(&s.cfg)?.map(|l| lead::describe(&l))))
    })
    .await;
    match result {
        Ok(Ok((true, _))) => true,
        Ok(Ok((false, leader))) => {
            let leader = leader.unwrap_or_else(|| "another service".into());
            if let Ok(mut seen) = shared.standing_by.lock()
                && seen.as_deref() != Some(leader.as_str())
            {
                info!(
                    "standing by: {leader} leads (schedules the rules, delivers the notices); this one takes over when it ends"
                );
                *seen = Some(leader);
            }
            false
        }
        Ok(Err(e)) => {
            warn!("cannot read the lease: {e}; trying again shortly");
            false
        }
        Err(e) => {
            error!("lease: {e}");
            false
        }
    }
}

async fn release_lease(shared: &Arc<Shared>) {
    let s = shared.clone();
    match tokio::task::spawn_blocking(move || lead::release(&s.cfg)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => warn!("cannot give the lease up: {e}; it expires by itself"),
        Err(e) => error!("lease: {e}"),
    }
}

/// Leads until a signal, or until the lease is lost: runs what is due,
/// delivers, and keeps the lease.
async fn lead(
    shared: &Arc<Shared>,
    opts: &Options,
    changes: &mut tokio::sync::mpsc::Receiver<()>,
    shutdown: &watch::Receiver<bool>,
) {
    if let Ok(mut seen) = shared.standing_by.lock() {
        *seen = None;
    }
    if shared.stopping() {
        release_lease(shared).await;
        return;
    }
    shared.halt.store(false, Ordering::SeqCst);
    info!("leading: this service schedules the rules and delivers the notices");
    let (lost_tx, lost) = watch::channel(false);
    let keeper = tokio::spawn(keep_lease(shared.clone(), lost_tx, shutdown.clone()));
    run_due(shared, true).await;
    let delivery = tokio::spawn(delivery_loop(
        shared.clone(),
        opts.delivery_poll,
        shutdown.clone(),
        lost.clone(),
    ));
    let mut shutdown_rx = shutdown.clone();
    let mut lost_rx = lost.clone();
    loop {
        if shared.halted() {
            break;
        }
        let next = next_run(shared).await;
        let sleep = match &next {
            Some(t) => (t.with_timezone(&Utc) - shared.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO),
            None => Duration::from_secs(3600),
        };
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {
                if next.is_some() && !shared.halted() {
                    run_due(shared, false).await;
                }
            }
            Some(()) = changes.recv() => {
                // Editors write in bursts: wait for the burst to end.
                tokio::time::sleep(Duration::from_millis(300)).await;
                while changes.try_recv().is_ok() {}
                reload(shared).await;
            }
            _ = shutdown_rx.changed() => {}
            _ = lost_rx.changed() => {}
        }
    }
    let _ = delivery.await;
    keeper.abort();
    let _ = keeper.await;
    if shared.stopping() {
        release_lease(shared).await;
    } else {
        warn!("the lease was lost: standing by; the work not begun is left to the next leader");
    }
}

/// Renews the lease every [`lead::RENEW`]; when another holds it, or it
/// could not be renewed for as long as it holds, halts the work and says
/// so on `lost`.
async fn keep_lease(
    shared: Arc<Shared>,
    lost: watch::Sender<bool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut renewed = std::time::Instant::now();
    let holds = Duration::from_secs(u64::from(lead::SECONDS));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(lead::RENEW) => {}
            _ = shutdown.changed() => return,
        }
        let s = shared.clone();
        let kept = match tokio::task::spawn_blocking(move || lead::renew(&s.cfg)).await {
            Ok(Ok(lead::Renewal::Renewed)) => {
                renewed = std::time::Instant::now();
                true
            }
            Ok(Ok(lead::Renewal::Waiting)) => {
                debug!("the lease waits for a lock held by a long transaction");
                true
            }
            Ok(Ok(lead::Renewal::Lost)) => {
                warn!("another service took the lease");
                false
            }
            Ok(Err(e)) => {
                warn!("cannot renew the lease: {e}");
                renewed.elapsed() + lead::RENEW < holds
            }
            Err(e) => {
                error!("lease: {e}");
                renewed.elapsed() + lead::RENEW < holds
            }
        };
        if !kept {
            shared.halt.store(true, Ordering::SeqCst);
            let _ = lost.send(true);
            return;
        }
    }
}

pub(crate) async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The earliest next scheduled time of any rule.
async fn next_run(shared: &Arc<Shared>) -> Option<DateTime<Tz>> {
    let s = shared.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<Option<DateTime<Tz>>> {
        let policy = s.policy();
        let conn = crate::store::open(&s.cfg.database)?;
        let last = due::last_runs(&conn)?;
        let engine = Engine::for_office(&policy, &s.cfg)?;
        let now = s.clock.now().with_timezone(&policy.tz);
        Ok(due::next_times(&engine, &last, &now)?
            .into_iter()
            .flatten()
            .min())
    })
    .await;
    match result {
        Ok(Ok(t)) => {
            if let Some(t) = &t {
                debug!(at = %t.to_rfc3339(), "next scheduled run");
            }
            t
        }
        Ok(Err(e)) => {
            error!("cannot read the schedule state: {e}");
            None
        }
        Err(e) => {
            error!("scheduler: {e}");
            None
        }
    }
}

/// Runs every rule that is due now, once each; at start, logs why.
async fn run_due(shared: &Arc<Shared>, starting: bool) {
    let s = shared.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<()> {
        let policy = s.policy();
        let tz = policy.tz;
        let mut conn = crate::store::open(&s.cfg.database)?;
        let last = due::last_runs(&conn)?;
        let engine = Engine::for_office(&policy, &s.cfg)?;
        let now_utc = s.clock.now();
        let now = now_utc.with_timezone(&tz);
        let due = due::due(&engine, &last, &now)?;
        if due.is_empty() {
            return Ok(());
        }
        // Rules due for the same scheduled time run together, as of it;
        // catch-ups run as of now.
        struct Group<'k> {
            time: DateTime<Tz>,
            rules: Vec<usize>,
            as_of: AsOf,
            kind: &'k str,
        }
        let mut groups: Vec<Group<'_>> = Vec::new();
        for d in &due {
            let rule = &policy.rules[d.rule].name;
            let time = d.latest.unwrap_or(now);
            let mark = time.to_rfc3339();
            let (as_of, kind) = if d.never_ran {
                info!("rule {rule} has not run before: running it now");
                (AsOf::new(now_utc, tz), "first")
            } else if starting || d.missed > 1 || d.latest.as_ref().is_some_and(|t| now - *t > chrono::Duration::minutes(5)) {
                let since = last.get(rule).map(|t| t.to_rfc3339()).unwrap_or_default();
                info!(
                    missed = d.missed,
                    "catch-up: rule {rule} missed {} scheduled time{} since {since} (the latest {mark}): running it once now",
                    d.missed,
                    if d.missed == 1 { "" } else { "s" }
                );
                (AsOf::new(now_utc, tz), "catch-up")
            } else {
                (AsOf::new(time.with_timezone(&Utc), tz), "scheduled")
            };
            match groups.iter_mut().find(|g| g.time == time && g.as_of == as_of && g.kind == kind) {
                Some(g) => g.rules.push(d.rule),
                None => groups.push(Group {
                    time,
                    rules: vec![d.rule],
                    as_of,
                    kind,
                }),
            }
        }
        // The earliest scheduled time first, whichever rules are left of
        // them: a service taking over halfway through evaluates (and
        // numbers the tasks of) the rest in the order the first would have.
        groups.sort_by_key(|g| (g.time, g.rules.first().copied()));
        for Group {
            time,
            rules,
            as_of,
            kind,
        } in groups
        {
            if s.halted() {
                break;
            }
            let mark = time.to_rfc3339();
            let opts = RunOptions {
                kind,
                clock: s.clock.as_ref(),
                stop: Some(&s.halt),
                scheduled: Some(&mark),
            };
            let outcomes = engine.run(&mut conn, &rules, &as_of, &opts, &mut |_| Ok(()))?;
            let fired: u64 = outcomes.iter().map(|o| o.firings()).sum();
            let tasks: u64 = outcomes.iter().map(|o| o.tasks).sum();
            let notices: u64 = outcomes.iter().map(|o| o.notices).sum();
            let names: Vec<&str> = outcomes.iter().map(|o| o.rule.as_str()).collect();
            info!(
                policy = %policy.hash,
                "{kind} run as of {}: {} rule{} ({}), {fired} fired, {tasks} tasks, {notices} notices",
                as_of.rfc3339(),
                outcomes.len(),
                if outcomes.len() == 1 { "" } else { "s" },
                names.join(", ")
            );
        }
        Ok(())
    })
    .await;
    match result {
        Ok(Ok(())) => shared.wake_delivery.notify_one(),
        Ok(Err(e)) => {
            error!("run failed: {e}; the rules stay due and are tried again shortly");
            // Do not spin on a failure that persists.
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
        Err(e) => error!("run: {e}"),
    }
}

/// Delivers what is due, once round.
async fn deliver(shared: &Arc<Shared>) {
    let s = shared.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<crate::deliver::outbox::Stats> {
        let conn = crate::store::open(&s.cfg.database)?;
        let mut transport = (s.transport)(&s.cfg)?;
        let mut settings = crate::deliver::outbox::Settings::from_config(&s.cfg);
        settings.stop = Some(&s.halt);
        crate::deliver::outbox::deliver_due(&conn, transport.as_mut(), &settings, s.clock.as_ref())
    })
    .await;
    match result {
        Ok(Ok(stats)) => {
            if stats.sent > 0 {
                info!(
                    "delivered {} notice{}",
                    stats.sent,
                    if stats.sent == 1 { "" } else { "s" }
                );
            }
            if let Some(e) = stats.last_error {
                warn!(
                    deferred = stats.deferred,
                    failed = stats.failed,
                    "delivery: {e}"
                );
            }
        }
        Ok(Err(e)) => warn!("delivery: {e}"),
        Err(e) => error!("delivery: {e}"),
    }
}

async fn delivery_loop(
    shared: Arc<Shared>,
    poll: Duration,
    mut shutdown: watch::Receiver<bool>,
    mut lost: watch::Receiver<bool>,
) {
    loop {
        if shared.halted() {
            break;
        }
        deliver(&shared).await;
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = shared.wake_delivery.notified() => {}
            _ = shutdown.changed() => {}
            _ = lost.changed() => {}
        }
    }
}

/// Checks the rules folder again and swaps the policy if it passes.
async fn reload(shared: &Arc<Shared>) {
    let s = shared.clone();
    let result = tokio::task::spawn_blocking(move || load(&s.cfg)).await;
    match result {
        Ok(Ok(policy)) => {
            let current = shared.policy();
            if policy.hash == current.hash {
                debug!("rules folder touched; the policy is unchanged");
                return;
            }
            info!(
                policy = %policy.hash,
                "policy reloaded: {} rules (was {})",
                policy.rules.len(),
                current.hash
            );
            if let Ok(mut p) = shared.policy.lock() {
                *p = Arc::new(policy);
            }
        }
        Ok(Err(e)) => error!("policy change refused, the running policy stays: {e}"),
        Err(e) => error!("reload: {e}"),
    }
}

/// Watches the rules folder; each change sends a message.
fn watch_rules(
    dir: &std::path::Path,
    tx: tokio::sync::mpsc::Sender<()>,
) -> Option<notify::RecommendedWatcher> {
    use notify::{EventKind, RecursiveMode, Watcher};
    let handler = move |res: notify::Result<notify::Event>| {
        if let Ok(event) = res
            && matches!(
                event.kind,
                EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
            )
        {
            let _ = tx.try_send(());
        }
    };
    match notify::recommended_watcher(handler) {
        Ok(mut w) => match w.watch(dir, RecursiveMode::Recursive) {
            Ok(()) => Some(w),
            Err(e) => {
                warn!("cannot watch {}: {e}; edits need a restart", dir.display());
                None
            }
        },
        Err(e) => {
            warn!("cannot watch {}: {e}; edits need a restart", dir.display());
            None
        }
    }
}
