//! A realistic demo office, generated: a city's party organizations in a
//! hierarchy (城市 → 区县 → 部门、乡镇), their secretaries (书记) and
//! discipline officers (纪检组长), inspection rounds, inspections, problems
//! spread around "today" in all three statuses, reminder talks already
//! held and some written self-criticisms (书面检查). Deterministic for a seed and a date; streams its records to a
//! [`Sink`] (the database, or CSV ledgers), so a million problems never sit
//! in memory.
//!
//! Each unit of scale is one district: 12 organizations and about 600
//! problems; `--scale 1800` gives about a million problems (1,006,775 with seed 1).

use crate::error::Result;
use crate::schema::{Entity, FieldDef};
use chrono::{Days, NaiveDate};

/// Organizations per unit of scale: a district committee, five
/// departments and six towns.
pub const ORGS_PER_SCALE: u64 = 12;
/// Persons per organization: secretary, discipline officer, two officials.
const STAFF: u64 = 4;
/// Inspection group leaders, all members of the inspection office.
const LEADERS: u64 = 8;

#[derive(Debug, Clone)]
pub struct Options {
    pub scale: u64,
    pub seed: u64,
    /// Problems and deadlines are spread around this day.
    pub today: NaiveDate,
}

/// Where generated records go. Values come in the order of the entity's
/// stored fields ([`stored_fields`]).
pub trait Sink {
    fn write(&mut self, entity: Entity, values: &[Option<String>]) -> Result<()>;
}

/// The stored fields of an entity, in schema order.
pub fn stored_fields(entity: Entity) -> impl Iterator<Item = &'static FieldDef> {
    entity.def().fields.iter().filter(|f| f.is_stored())
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub organizations: u64,
    pub persons: u64,
    pub rounds: u64,
    pub inspections: u64,
    pub problems: u64,
    pub tasks: u64,
}

/// One record being built, by field name.
struct Record {
    entity: Entity,
    values: Vec<Option<String>>,
}

impl Record {
    fn new(entity: Entity) -> Self {
        Record {
            entity,
            values: vec![None; stored_fields(entity).count()],
        }
    }

    fn set(mut self, field: &str, value: impl Into<String>) -> Self {
        if let Some(i) = stored_fields(self.entity).position(|f| f.name == field) {
            self.values[i] = Some(value.into());
        }
        self
    }

    fn set_opt(self, field: &str, value: Option<String>) -> Self {
        match value {
            Some(v) => self.set(field, v),
            None => self,
        }
    }

    fn write(self, sink: &mut dyn Sink) -> Result<()> {
        sink.write(self.entity, &self.values)
    }
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "萧", "田", "董", "潘", "袁", "蔡", "蒋", "余",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "霞", "平", "刚", "桂英", "建华", "志强", "海燕", "晓东", "文博", "国庆", "红梅",
    "永明", "丽华", "建国", "春生", "玉兰", "德明", "振华",
];
const DISTRICT_A: &[&str] = &[
    "东", "西", "南", "北", "新", "安", "平", "清", "宁", "兴", "长", "永", "和", "嘉", "丰", "云",
];
const DISTRICT_B: &[&str] = &[
    "山", "江", "河", "湖", "林", "川", "溪", "城", "阳", "海", "源", "州", "泉", "岭", "桥", "田",
];
const DEPARTMENTS: &[&str] = &[
    "教育局",
    "卫生健康局",
    "财政局",
    "住房和城乡建设局",
    "农业农村局",
    "市场监督管理局",
    "自然资源局",
    "交通运输局",
    "民政局",
    "人力资源和社会保障局",
];
const TOWN_SUFFIX: &[&str] = &["镇", "街道", "乡"];
const TOWN_A: &[&str] = &[
    "石", "大", "小", "龙", "凤", "金", "银", "黄", "青", "白", "官", "马", "梅", "桃", "竹", "松",
];
const TOWN_B: &[&str] = &[
    "门", "头", "坡", "塘", "岗", "湾", "埠", "坑", "口", "场", "洲", "浦", "村", "寨", "营", "圩",
];
const CATEGORIES: &[(&str, &[&str])] = &[
    (
        "落实党的路线方针政策不到位",
        &[
            "贯彻落实上级决策部署打折扣",
            "乡村振兴工作推进缓慢",
            "安全生产责任制落实不到位",
        ],
    ),
    (
        "党建工作薄弱",
        &[
            "三会一课制度落实不严格",
            "党员发展程序不规范",
            "组织生活会批评与自我批评不够深入",
        ],
    ),
    (
        "违反中央八项规定精神",
        &["超标准公务接待", "违规发放津补贴", "公车私用问题整改不彻底"],
    ),
    (
        "形式主义官僚主义",
        &[
            "文山会海问题突出",
            "调研走过场、重留痕轻实效",
            "基层检查考核过多过频",
        ],
    ),
    (
        "选人用人不规范",
        &[
            "干部档案审核把关不严",
            "干部选拔任用程序不规范",
            "超职数配备干部",
        ],
    ),
    (
        "财务管理不规范",
        &[
            "专项资金使用不规范",
            "固定资产管理混乱",
            "往来款项长期未清理",
        ],
    ),
    (
        "意识形态工作责任制落实不到位",
        &["意识形态工作分析研判不够", "网络阵地管理不严"],
    ),
    (
        "廉政风险防控不到位",
        &[
            "工程项目招投标监管不严",
            "政府采购程序不规范",
            "重点岗位轮岗交流不到位",
        ],
    ),
];
const ROUND_KINDS: &[&str] = &["常规巡察", "常规巡察", "专项巡察", "巡察“回头看”"];
const ORDINALS: &[&str] = &["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

fn pick<'a>(rng: &mut fastrand::Rng, items: &[&'a str]) -> &'a str {
    items[rng.usize(..items.len())]
}

fn person_name(rng: &mut fastrand::Rng) -> String {
    format!("{}{}", pick(rng, SURNAMES), pick(rng, GIVEN))
}

fn org_id(i: u64) -> String {
    format!("O{i:06}")
}

fn person_id(i: u64) -> String {
    format!("U{i:07}")
}

fn day(d: NaiveDate, offset: i64) -> NaiveDate {
    if offset >= 0 {
        d.checked_add_days(Days::new(offset as u64)).unwrap_or(d)
    } else {
        d.checked_sub_days(Days::new(offset.unsigned_abs()))
            .unwrap_or(d)
    }
}

/// The organization's kind and name for index `i` (0 is the city).
fn organization(i: u64) -> (String, String, Option<u64>) {
    if i == 0 {
        return ("市委".into(), "中共湛江市委员会".into(), None);
    }
    let block = (i - 1) / ORGS_PER_SCALE;
    let pos = (i - 1) % ORGS_PER_SCALE;
    let district = {
        let a = DISTRICT_A[(block as usize) % DISTRICT_A.len()];
        let b = DISTRICT_B[(block as usize / DISTRICT_A.len()) % DISTRICT_B.len()];
        let round = block as usize / (DISTRICT_A.len() * DISTRICT_B.len());
        let kind = if block % 3 == 2 { "县" } else { "区" };
        if round == 0 {
            format!("{a}{b}{kind}")
        } else {
            format!("{a}{b}{kind}{}", round + 1)
        }
    };
    let head = 1 + block * ORGS_PER_SCALE;
    match pos {
        0 => ("区县党委".into(), format!("中共{district}委员会"), Some(0)),
        1..=5 => {
            let dept = DEPARTMENTS[((block + pos) as usize) % DEPARTMENTS.len()];
            (
                "部门党组".into(),
                format!("{district}{dept}党组"),
                Some(head),
            )
        }
        _ => {
            let n = (block * 7 + pos) as usize;
            let town = format!(
                "{}{}{}",
                TOWN_A[n % TOWN_A.len()],
                TOWN_B[(n / TOWN_A.len()) % TOWN_B.len()],
                TOWN_SUFFIX[n % TOWN_SUFFIX.len()]
            );
            (
                "乡镇党委".into(),
                format!("{district}{town}党委"),
                Some(head),
            )
        }
    }
}

/// Generates the office into `sink`.
/// The director and a staff member of the inspection office (巡察办主任,
/// 副主任) of a demo office at `scale`: its workbench admin and office accounts.
pub fn office_staff(scale: u64) -> (String, String) {
    let office = 1 + scale.max(1) * ORGS_PER_SCALE;
    (person_id(office * STAFF), person_id(office * STAFF + 1))
}

pub fn generate(opts: &Options, sink: &mut dyn Sink) -> Result<Counts> {
    let mut rng = fastrand::Rng::with_seed(opts.seed);
    let mut counts = Counts::default();
    let orgs = 1 + opts.scale.max(1) * ORGS_PER_SCALE;
    // The inspection office itself is the last organization; its staff lead
    // the inspection groups.
    let office = orgs;
    let total_orgs = orgs + 1;
    let leader0 = total_orgs * STAFF;

    // Persons: four per organization, then the inspection group leaders.
    for o in 0..total_orgs {
        let titles: [&str; 4] = if o == office {
            ["巡察办主任", "巡察办副主任", "巡察专员", "巡察专员"]
        } else if o == 0 {
            ["市委书记", "市纪委书记", "市委秘书长", "市委副秘书长"]
        } else {
            ["书记", "纪检组长", "副书记", "办公室主任"]
        };
        for (k, title) in titles.iter().enumerate() {
            let id = o * STAFF + k as u64;
            // One in twenty has no email on file: notices to them are skipped
            // and reported.
            let email = (rng.u8(..20) != 0)
                .then(|| format!("{}@example.org", person_id(id).to_lowercase()));
            Record::new(Entity::Person)
                .set("id", person_id(id))
                .set("name", person_name(&mut rng))
                .set_opt("email", email)
                .set("title", *title)
                .set("organization", org_id(o))
                .write(sink)?;
            counts.persons += 1;
        }
    }
    for l in 0..LEADERS {
        Record::new(Entity::Person)
            .set("id", person_id(leader0 + l))
            .set("name", person_name(&mut rng))
            .set(
                "email",
                format!("{}@example.org", person_id(leader0 + l).to_lowercase()),
            )
            .set(
                "title",
                format!("巡察第{}组组长", ORDINALS[l as usize % ORDINALS.len()]),
            )
            .set("organization", org_id(office))
            .write(sink)?;
        counts.persons += 1;
    }

    // Organizations.
    for o in 0..total_orgs {
        let (kind, name, parent) = if o == office {
            (
                "工作机构".to_string(),
                "中共湛江市委巡察工作领导小组办公室".to_string(),
                Some(0),
            )
        } else {
            organization(o)
        };
        Record::new(Entity::Organization)
            .set("id", org_id(o))
            .set("name", name)
            .set_opt("parent", parent.map(org_id))
            .set("kind", kind)
            .set("secretary", person_id(o * STAFF))
            .set("discipline_officer", person_id(o * STAFF + 1))
            .set("region", "湛江市")
            .write(sink)?;
        counts.organizations += 1;
    }

    // Rounds: three a year over the last two years, the newest recent —
    // yet over and fed back: its inspections' feedback (20 to 40 days after
    // the round ends) lies before today, as do the problems found.
    let rounds: Vec<(String, NaiveDate, NaiveDate)> = (0..6)
        .map(|r| {
            let start = day(opts.today, -(100 + 120 * (5 - r as i64)));
            let end = day(start, 45);
            (format!("R{:02}", r + 1), start, end)
        })
        .collect();
    for (r, (id, start, end)) in rounds.iter().enumerate() {
        let year = start.format("%Y");
        Record::new(Entity::Round)
            .set("id", id.clone())
            .set(
                "name",
                format!("{year}年第{}轮巡察", ORDINALS[r % ORDINALS.len()]),
            )
            .set("kind", ROUND_KINDS[r % ROUND_KINDS.len()])
            .set("start_date", start.to_string())
            .set("end_date", end.to_string())
            .write(sink)?;
        counts.rounds += 1;
    }

    // Inspections and their problems, organization by organization.
    let mut inspection_no = 0u64;
    let mut problem_no = 0u64;
    let mut task_no = 0u64;
    for o in 1..orgs {
        // Two or three of the six rounds inspected this organization.
        let first = rng.usize(..3);
        let picked: Vec<usize> = (first..rounds.len()).step_by(2 + rng.usize(..2)).collect();
        for r in picked {
            let (round_id, _, end) = &rounds[r];
            inspection_no += 1;
            let insp_id = format!("I{inspection_no:07}");
            let feedback = day(*end, 20 + rng.i64(0..20));
            let report_due = day(feedback, 60);
            let leader = leader0 + rng.u64(..LEADERS);
            Record::new(Entity::Inspection)
                .set("id", insp_id.clone())
                .set("round", round_id.clone())
                .set("organization", org_id(o))
                .set("feedback_on", feedback.to_string())
                .set("report_due", report_due.to_string())
                .set("leader", person_id(leader))
                .write(sink)?;
            counts.inspections += 1;
            // Older inspections have rectified more.
            let age = (opts.today - feedback).num_days();
            let diligence = rng.f64();
            let (mut found, mut rectified) = (0u32, 0u32);
            for _ in 0..(8 + rng.u64(..25)) {
                problem_no += 1;
                let pid = format!("P{problem_no:08}");
                let (category, details) = CATEGORIES[rng.usize(..CATEGORIES.len())];
                let detail = pick(&mut rng, details);
                let severity = match rng.u8(..10) {
                    0 => "serious",
                    1..=3 => "major",
                    _ => "minor",
                };
                let found_on = day(*end, -rng.i64(0..40));
                let months = if severity == "serious" {
                    2
                } else {
                    3 + rng.i64(0..4)
                };
                let deadline = day(feedback, 30 * months);
                let past = opts.today > deadline;
                let p_done = if past {
                    0.45 + 0.5 * diligence
                } else {
                    0.2 * diligence + (age as f64 / 400.0).min(0.3)
                };
                let x = rng.f64();
                let status = if x < p_done {
                    "rectified"
                } else if x < p_done + (1.0 - p_done) * 0.4 {
                    "rectifying"
                } else {
                    "open"
                };
                let rectified_on = (status == "rectified").then(|| {
                    let latest = if past { deadline } else { opts.today };
                    let span = (latest - feedback).num_days().max(1);
                    day(feedback, rng.i64(0..span)).min(opts.today).to_string()
                });
                // A few problems have nobody responsible yet.
                let responsible =
                    (rng.u8(..50) != 0).then(|| person_id(o * STAFF + 2 + rng.u64(..2)));
                Record::new(Entity::Problem)
                    .set("id", pid.clone())
                    .set("inspection", insp_id.clone())
                    .set("category", category)
                    .set("severity", severity)
                    .set("description", format!("{detail}（{category}）"))
                    .set("found_on", found_on.to_string())
                    .set("deadline", deadline.to_string())
                    .set("status", status)
                    .set_opt("rectified_on", rectified_on)
                    .set_opt("responsible", responsible.clone())
                    .write(sink)?;
                counts.problems += 1;
                found += 1;
                rectified += u32::from(status == "rectified");
                // Reminder talks already held for many long-overdue problems.
                let overdue = (opts.today - deadline).num_days();
                if status != "rectified"
                    && overdue > 45
                    && rng.u8(..3) != 0
                    && let Some(target) = responsible
                {
                    task_no += 1;
                    let created = day(deadline, 30);
                    let held = day(created, 3 + rng.i64(0..10)).min(opts.today);
                    Record::new(Entity::Task)
                        .set("id", format!("H{task_no:07}"))
                        .set("subject_type", "problem")
                        .set("subject_id", pid)
                        .set("kind", "reminder_talk")
                        .set("status", "done")
                        .set("target", target)
                        .set("assignee", person_id(o * STAFF + 1))
                        .set("due", day(created, 7).to_string())
                        .set("created_on", created.to_string())
                        .set("done_on", held.to_string())
                        .set("outcome", "已开展提醒谈话，责任人表示抓紧整改")
                        .write(sink)?;
                    counts.tasks += 1;
                }
            }
            // Some inspections still below 70% had their secretary write a
            // self-criticism (书面检查) 100 days after feedback; where that
            // was 60 days ago or more, the example policy's accountability
            // step asks the leader to approve. Chosen without the random
            // generator, so that the rest of the office stays the same.
            let done_on = day(feedback, 100);
            if inspection_no % 7 == 3
                && f64::from(rectified) < 0.7 * f64::from(found)
                && (opts.today - done_on).num_days() >= 60
            {
                task_no += 1;
                Record::new(Entity::Task)
                    .set("id", format!("H{task_no:07}"))
                    .set("subject_type", "inspection")
                    .set("subject_id", insp_id.clone())
                    .set("kind", "written_self_criticism")
                    .set("status", "done")
                    .set("target", person_id(o * STAFF))
                    .set("assignee", person_id(o * STAFF + 1))
                    .set("due", day(feedback, 105).to_string())
                    .set("created_on", day(feedback, 90).to_string())
                    .set("done_on", done_on.to_string())
                    .set("outcome", "党组书记已提交书面检查")
                    .write(sink)?;
                counts.tasks += 1;
            }
        }
    }
    Ok(counts)
}

/// A generated policy of `n` rules in the style of the example policy
/// (English and Chinese keywords, the three subject entities, defines,
/// collections, repeats), for benchmarks of `check`.
pub fn policy(n: usize) -> String {
    let mut p =
        String::from("define inspection.rate_ok = rate(problems where status = \"rectified\")\n\n");
    for i in 0..n {
        // Thresholds differ from rule to rule: no two rules are the same.
        let d = 10 + i / 4;
        p.push_str(&match i % 4 {
            0 => format!("rule r{i} \"逾期{d}天\"\n  for problem\n  when status != \"rectified\" and overdue_days >= {d}\n  then task reminder_talk with responsible due 7 days\n\n"),
            1 => format!("规则 规则{i}\n  针对 问题\n  当 状态 = \"整改中\" 且 距今天数(整改期限) > {d}\n  则 通知 责任人, 巡察.组织.书记\n\n"),
            2 => format!("rule r{i}\n  for inspection\n  when days_since(feedback_on) >= {d} and rate_ok < {}%\n  then task written_self_criticism with organization.secretary\n  repeat every 30 days\n\n", 50 + i % 40),
            _ => format!("rule r{i}\n  for organization\n  when sum(inspections, count(problems where overdue_days > {d})) >= {}\n  then notify secretary, \"office@example.org\"\n\n", 1 + i % 9),
        });
    }
    p
}

/// Writes records into the case database (one prepared insert per table).
pub struct DbSink<'c> {
    conn: &'c crate::store::Db,
    /// The insert statement of each entity, by `Entity as usize`.
    inserts: Vec<String>,
}

impl<'c> DbSink<'c> {
    pub fn new(conn: &'c crate::store::Db) -> Self {
        let inserts = Entity::ALL
            .iter()
            .map(|e| {
                let cols: Vec<String> = stored_fields(*e).filter_map(|f| f.column()).collect();
                format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    e.table(),
                    cols.join(", "),
                    crate::store::placeholders(cols.len())
                )
            })
            .collect();
        DbSink { conn, inserts }
    }
}

impl Sink for DbSink<'_> {
    fn write(&mut self, entity: Entity, values: &[Option<String>]) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(&self.inserts[entity as usize])?;
        stmt.execute(crate::store::params_from_iter(values.iter()))?;
        Ok(())
    }
}

/// Writes records as CSV ledgers, one file per table, in the import format.
pub struct CsvSink {
    dir: std::path::PathBuf,
    writers: Vec<(Entity, csv::Writer<std::io::BufWriter<std::fs::File>>)>,
}

impl CsvSink {
    pub fn new(dir: &std::path::Path) -> Result<Self> {
        crate::private::create_dir_all(dir)?;
        Ok(CsvSink {
            dir: dir.to_path_buf(),
            writers: Vec::new(),
        })
    }

    pub fn finish(mut self) -> Result<()> {
        for (_, w) in &mut self.writers {
            w.flush()?;
        }
        Ok(())
    }
}

impl Sink for CsvSink {
    fn write(&mut self, entity: Entity, values: &[Option<String>]) -> Result<()> {
        let pos = match self.writers.iter().position(|(e, _)| *e == entity) {
            Some(p) => p,
            None => {
                let path = self.dir.join(format!("{}.csv", entity.table()));
                let file = crate::private::create(&path)?;
                let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
                let header: Vec<String> =
                    stored_fields(entity).filter_map(|f| f.column()).collect();
                w.write_record(&header).map_err(csv_err)?;
                self.writers.push((entity, w));
                self.writers.len() - 1
            }
        };
        let w = &mut self.writers[pos].1;
        w.write_record(values.iter().map(|v| v.as_deref().unwrap_or("")))
            .map_err(csv_err)
    }
}

fn csv_err(e: csv::Error) -> crate::error::Error {
    crate::error::Error::failed("writing CSV", e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect(Vec<(Entity, Vec<Option<String>>)>);
    impl Sink for Collect {
        fn write(&mut self, e: Entity, v: &[Option<String>]) -> Result<()> {
            self.0.push((e, v.to_vec()));
            Ok(())
        }
    }

    fn opts(seed: u64) -> Options {
        Options {
            scale: 1,
            seed,
            today: NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default(),
        }
    }

    #[test]
    fn same_seed_same_office() {
        let (mut a, mut b, mut c) = (Collect::default(), Collect::default(), Collect::default());
        let ca = generate(&opts(7), &mut a).ok();
        generate(&opts(7), &mut b).ok();
        generate(&opts(8), &mut c).ok();
        assert_eq!(a.0, b.0);
        assert_ne!(a.0, c.0);
        let ca = ca.unwrap_or_default();
        assert_eq!(ca.organizations, 14);
        assert!(ca.problems > 200, "{ca:?}");
    }

    #[test]
    fn problems_come_in_all_three_statuses() {
        let mut a = Collect::default();
        generate(&opts(1), &mut a).ok();
        let status = stored_fields(Entity::Problem)
            .position(|f| f.name == "status")
            .unwrap_or(0);
        for s in ["open", "rectifying", "rectified"] {
            assert!(
                a.0.iter()
                    .any(|(e, v)| *e == Entity::Problem && v[status].as_deref() == Some(s)),
                "{s}"
            );
        }
    }
}
