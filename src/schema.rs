//! The one case schema (SPEC §2): entities, fields, types, references,
//! collections, derived fields, enums with codes and Chinese labels, and
//! every Chinese alias.
//!
//! The checker, the SQL compiler, the interpreter, the importer, the
//! test-fixture loader, the migrations and the docs all read this module;
//! nothing else spells a table or a column. It holds data only: no I/O.

use std::fmt;

/// The six entities of the case database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Entity {
    Organization,
    Person,
    Round,
    Inspection,
    Problem,
    Task,
}

/// An enum field's set of values: `(code, Chinese label)`.
#[derive(Debug)]
pub struct EnumDef {
    pub name: &'static str,
    pub values: &'static [(&'static str, &'static str)],
}

impl EnumDef {
    /// The code for a code or a label (`"rectified"` or `"已整改"`).
    pub fn code_of(&self, text: &str) -> Option<&'static str> {
        self.values
            .iter()
            .find(|(code, label)| *code == text || *label == text)
            .map(|(code, _)| *code)
    }

    /// The Chinese label of a code.
    pub fn label_of(&self, code: &str) -> Option<&'static str> {
        self.values
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, label)| *label)
    }

    /// Every spelling a user may write: codes and labels.
    pub fn spellings(&self) -> impl Iterator<Item = &'static str> {
        self.values.iter().flat_map(|(c, l)| [*c, *l])
    }
}

pub static SEVERITY: EnumDef = EnumDef {
    name: "severity",
    values: &[("minor", "一般"), ("major", "较重"), ("serious", "严重")],
};

/// A problem's status codes, as stored; the SQL compiler and the store
/// read them from here rather than spelling them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemStatus {
    Open,
    Rectifying,
    Rectified,
}

impl ProblemStatus {
    pub const fn code(self) -> &'static str {
        match self {
            ProblemStatus::Open => "open",
            ProblemStatus::Rectifying => "rectifying",
            ProblemStatus::Rectified => "rectified",
        }
    }
}

pub static PROBLEM_STATUS: EnumDef = EnumDef {
    name: "problem status",
    values: &[
        (ProblemStatus::Open.code(), "未整改"),
        (ProblemStatus::Rectifying.code(), "整改中"),
        (ProblemStatus::Rectified.code(), "已整改"),
    ],
};

pub static SUBJECT_TYPE: EnumDef = EnumDef {
    name: "subject type",
    values: &[
        ("problem", "问题"),
        ("inspection", "巡察"),
        ("organization", "组织"),
    ],
};

/// A task's status codes, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// Created by a rule with `approval by`: waits for the decision.
    Pending,
    Open,
    Done,
    Cancelled,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 4] = [
        TaskStatus::Pending,
        TaskStatus::Open,
        TaskStatus::Done,
        TaskStatus::Cancelled,
    ];

    /// The status a code or a label names (`done`, `已完成`).
    pub fn parse(text: &str) -> Option<TaskStatus> {
        let code = TASK_STATUS.code_of(text)?;
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    pub const fn code(self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Open => "open",
            TaskStatus::Done => "done",
            TaskStatus::Cancelled => "cancelled",
        }
    }
}

pub static TASK_STATUS: EnumDef = EnumDef {
    name: "task status",
    values: &[
        (TaskStatus::Open.code(), "待办"),
        (TaskStatus::Pending.code(), "待审批"),
        (TaskStatus::Done.code(), "已完成"),
        (TaskStatus::Cancelled.code(), "已取消"),
    ],
};

/// The standard task kinds with the labels used in notices. A policy may
/// declare more with `tasktype`.
pub static STANDARD_TASK_KINDS: &[(&str, &str)] = &[
    ("reminder_talk", "提醒谈话"),
    ("criticism_education", "批评教育"),
    ("admonishment_talk", "诫勉谈话"),
    ("written_self_criticism", "书面检查"),
    ("criticism_notice", "通报批评"),
    ("interview", "约谈"),
    ("second_rectification", "二次整改"),
    ("accountability", "问责"),
    ("follow_up_visit", "回访"),
];

/// A field's type.
#[derive(Debug, Clone, Copy)]
pub enum FieldType {
    Text,
    Number,
    Date,
    Enum(&'static EnumDef),
    /// A reference to one record of another entity (`parent` → organization).
    Ref(Entity),
    /// A task kind: text checked against the standard kinds and `tasktype`s.
    TaskKind,
}

/// How a derived field is computed. The SQL compiler and the interpreter
/// each implement every variant; they must agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derived {
    /// Whole days from `deadline` to `today` when the problem is not
    /// rectified and `today` is after `deadline`; otherwise 0.
    OverdueDays,
    /// Whole days from `found_on` to `today`.
    OpenDays,
    /// Working days d with `deadline` < d ≤ `today` when the problem is not
    /// rectified and `today` is after `deadline`; otherwise 0.
    OverdueWorkdays,
}

#[derive(Debug)]
pub struct FieldDef {
    pub name: &'static str,
    pub zh: &'static str,
    pub ty: FieldType,
    /// Every record carries a value (the `id` and the references that make
    /// a record meaningful): a `NOT NULL` column.
    pub required: bool,
    /// A new record must come with a value, though the column allows none
    /// (records from before the rule, test fixtures). An import that adds a
    /// record without it is refused; an update may leave the column out.
    pub needed: bool,
    /// Value used when an imported cell is empty.
    pub default: Option<&'static str>,
    pub derived: Option<Derived>,
}

impl FieldDef {
    /// The column in the database and in import files: references carry
    /// `_id` (`inspection_id`); derived fields have none.
    pub fn column(&self) -> Option<String> {
        match (self.derived, self.ty) {
            (Some(_), _) => None,
            (None, FieldType::Ref(_)) => Some(format!("{}_id", self.name)),
            (None, _) => Some(self.name.to_string()),
        }
    }

    pub fn is_stored(&self) -> bool {
        self.derived.is_none()
    }
}

/// How the members of a collection are found.
#[derive(Debug, Clone, Copy)]
pub enum Link {
    /// Members whose reference field of that name points at the owner
    /// (`inspection.problems`: problems whose `inspection` is it).
    Backref(&'static str),
    /// Tasks whose subject is the owner.
    TaskSubject,
    /// Tasks whose target is the owner (a person).
    TaskTarget,
}

#[derive(Debug)]
pub struct CollectionDef {
    pub name: &'static str,
    pub zh: &'static str,
    pub element: Entity,
    pub link: Link,
}

#[derive(Debug)]
pub struct EntityDef {
    pub entity: Entity,
    pub name: &'static str,
    pub zh: &'static str,
    /// The table in the database, and the stem of its import file.
    pub table: &'static str,
    pub fields: &'static [FieldDef],
    pub collections: &'static [CollectionDef],
}

const fn field(name: &'static str, zh: &'static str, ty: FieldType) -> FieldDef {
    FieldDef {
        name,
        zh,
        ty,
        required: false,
        needed: false,
        default: None,
        derived: None,
    }
}

const fn required(name: &'static str, zh: &'static str, ty: FieldType) -> FieldDef {
    FieldDef {
        required: true,
        needed: true,
        ..field(name, zh, ty)
    }
}

const fn needed(name: &'static str, zh: &'static str, ty: FieldType) -> FieldDef {
    FieldDef {
        needed: true,
        ..field(name, zh, ty)
    }
}

const fn with_default(
    name: &'static str,
    zh: &'static str,
    ty: FieldType,
    default: &'static str,
) -> FieldDef {
    FieldDef {
        default: Some(default),
        ..required(name, zh, ty)
    }
}

const fn derived(name: &'static str, zh: &'static str, how: Derived) -> FieldDef {
    FieldDef {
        derived: Some(how),
        ..field(name, zh, FieldType::Number)
    }
}

const ID: FieldDef = required("id", "编号", FieldType::Text);

use Entity as E;
use FieldType as T;

pub static ENTITIES: &[EntityDef] = &[
    EntityDef {
        entity: E::Organization,
        name: "organization",
        zh: "组织",
        table: "organizations",
        fields: &[
            ID,
            required("name", "名称", T::Text),
            field("parent", "上级", T::Ref(E::Organization)),
            field("kind", "类型", T::Text),
            field("secretary", "书记", T::Ref(E::Person)),
            field("discipline_officer", "纪检负责人", T::Ref(E::Person)),
            field("region", "地区", T::Text),
        ],
        collections: &[
            CollectionDef {
                name: "children",
                zh: "下级",
                element: E::Organization,
                link: Link::Backref("parent"),
            },
            CollectionDef {
                name: "inspections",
                zh: "巡察",
                element: E::Inspection,
                link: Link::Backref("organization"),
            },
            CollectionDef {
                name: "tasks",
                zh: "任务",
                element: E::Task,
                link: Link::TaskSubject,
            },
        ],
    },
    EntityDef {
        entity: E::Person,
        name: "person",
        zh: "人员",
        table: "persons",
        fields: &[
            ID,
            required("name", "姓名", T::Text),
            field("email", "邮箱", T::Text),
            field("mobile", "手机", T::Text),
            field("title", "职务", T::Text),
            field("organization", "组织", T::Ref(E::Organization)),
        ],
        collections: &[CollectionDef {
            name: "tasks",
            zh: "任务",
            element: E::Task,
            link: Link::TaskTarget,
        }],
    },
    EntityDef {
        entity: E::Round,
        name: "round",
        zh: "轮次",
        table: "rounds",
        fields: &[
            ID,
            required("name", "名称", T::Text),
            field("kind", "类型", T::Text),
            field("start_date", "开始日期", T::Date),
            field("end_date", "结束日期", T::Date),
        ],
        collections: &[CollectionDef {
            name: "inspections",
            zh: "巡察",
            element: E::Inspection,
            link: Link::Backref("round"),
        }],
    },
    EntityDef {
        entity: E::Inspection,
        name: "inspection",
        zh: "巡察",
        table: "inspections",
        fields: &[
            ID,
            required("round", "轮次", T::Ref(E::Round)),
            required("organization", "组织", T::Ref(E::Organization)),
            field("feedback_on", "反馈日期", T::Date),
            field("report_due", "报告期限", T::Date),
            field("leader", "组长", T::Ref(E::Person)),
        ],
        collections: &[
            CollectionDef {
                name: "problems",
                zh: "问题",
                element: E::Problem,
                link: Link::Backref("inspection"),
            },
            CollectionDef {
                name: "tasks",
                zh: "任务",
                element: E::Task,
                link: Link::TaskSubject,
            },
        ],
    },
    EntityDef {
        entity: E::Problem,
        name: "problem",
        zh: "问题",
        table: "problems",
        fields: &[
            ID,
            required("inspection", "巡察", T::Ref(E::Inspection)),
            field("category", "类别", T::Text),
            field("severity", "严重程度", T::Enum(&SEVERITY)),
            field("description", "描述", T::Text),
            field("found_on", "发现日期", T::Date),
            needed("deadline", "整改期限", T::Date),
            with_default("status", "状态", T::Enum(&PROBLEM_STATUS), "open"),
            field("rectified_on", "销号日期", T::Date),
            field("responsible", "责任人", T::Ref(E::Person)),
            derived("overdue_days", "逾期天数", Derived::OverdueDays),
            derived("overdue_workdays", "逾期工作日数", Derived::OverdueWorkdays),
            derived("open_days", "已开天数", Derived::OpenDays),
        ],
        collections: &[CollectionDef {
            name: "tasks",
            zh: "任务",
            element: E::Task,
            link: Link::TaskSubject,
        }],
    },
    EntityDef {
        entity: E::Task,
        name: "task",
        zh: "任务",
        table: "tasks",
        fields: &[
            ID,
            required("subject_type", "主体类型", T::Enum(&SUBJECT_TYPE)),
            required("subject_id", "主体编号", T::Text),
            required("kind", "类别", T::TaskKind),
            with_default("status", "状态", T::Enum(&TASK_STATUS), "open"),
            field("target", "对象", T::Ref(E::Person)),
            field("assignee", "执行人", T::Ref(E::Person)),
            field("due", "截止日期", T::Date),
            field("created_on", "创建日期", T::Date),
            field("done_on", "完成日期", T::Date),
            field("outcome", "结果", T::Text),
            field("rule", "来源规则", T::Text),
        ],
        collections: &[],
    },
];

impl Entity {
    pub const ALL: [Entity; 6] = [
        E::Organization,
        E::Person,
        E::Round,
        E::Inspection,
        E::Problem,
        E::Task,
    ];

    pub fn def(self) -> &'static EntityDef {
        &ENTITIES[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.def().name
    }

    /// "a problem", "an inspection": for messages.
    pub fn a(self) -> String {
        let name = self.name();
        let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        format!("{article} {name}")
    }

    pub fn table(self) -> &'static str {
        self.def().table
    }

    /// What names a subject of this entity in words (a notice's "about":
    /// `问题“账目不清”（市财政局）`): the path of its title and of its
    /// organization's name, each reference fields then a text field.
    /// `None` for an entity named by its id alone.
    pub fn in_words(self) -> Option<(&'static [&'static str], &'static [&'static str])> {
        match self {
            Entity::Problem => Some((&["description"], &["inspection", "organization", "name"])),
            Entity::Inspection => Some((&["round", "name"], &["organization", "name"])),
            Entity::Organization => Some((&["name"], &["name"])),
            _ => None,
        }
    }

    /// By English name, Chinese alias or table name.
    pub fn lookup(name: &str) -> Option<Entity> {
        ENTITIES
            .iter()
            .find(|d| d.name == name || d.zh == name || d.table == name)
            .map(|d| d.entity)
    }

    pub fn field(self, name: &str) -> Option<&'static FieldDef> {
        self.def()
            .fields
            .iter()
            .find(|f| f.name == name || f.zh == name)
    }

    pub fn collection(self, name: &str) -> Option<&'static CollectionDef> {
        self.def()
            .collections
            .iter()
            .find(|c| c.name == name || c.zh == name)
    }

    /// Every name a user may write after a record of this entity: fields
    /// and collections in English and Chinese (for "did you mean").
    pub fn member_names(self) -> impl Iterator<Item = &'static str> {
        let d = self.def();
        d.fields
            .iter()
            .flat_map(|f| [f.name, f.zh])
            .chain(d.collections.iter().flat_map(|c| [c.name, c.zh]))
    }

    /// Whether rules may be written `for` this entity: the subjects a task
    /// can name (`task.subject_type`).
    pub fn can_be_subject(self) -> bool {
        SUBJECT_TYPE.code_of(self.name()).is_some()
    }

    /// The path from a subject of this entity to its organization, used for
    /// the default assignee (the organization's discipline officer).
    pub fn organization_path(self) -> Option<&'static [&'static str]> {
        match self {
            E::Problem => Some(&["inspection", "organization"]),
            E::Inspection => Some(&["organization"]),
            E::Organization => Some(&[]),
            E::Person => Some(&["organization"]),
            E::Round | E::Task => None,
        }
    }

    /// The order in which tables are imported: every table after the
    /// tables it references.
    pub const IMPORT_ORDER: [Entity; 6] = [
        E::Person,
        E::Organization,
        E::Round,
        E::Inspection,
        E::Problem,
        E::Task,
    ];
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The code of a standard task kind, by code or label.
pub fn standard_task_kind(text: &str) -> Option<(&'static str, &'static str)> {
    STANDARD_TASK_KINDS
        .iter()
        .find(|(code, label)| *code == text || *label == text)
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_are_indexed_by_their_discriminant() {
        for e in Entity::ALL {
            assert_eq!(e.def().entity, e);
        }
    }

    #[test]
    fn chinese_aliases_resolve() {
        assert_eq!(Entity::lookup("问题"), Some(Entity::Problem));
        let f = Entity::Problem.field("逾期天数").map(|f| f.name);
        assert_eq!(f, Some("overdue_days"));
        assert_eq!(PROBLEM_STATUS.code_of("已整改"), Some("rectified"));
        assert_eq!(
            Entity::Inspection.collection("问题").map(|c| c.element),
            Some(Entity::Problem)
        );
    }

    #[test]
    fn backrefs_name_reference_fields_of_the_element() {
        for d in ENTITIES {
            for c in d.collections {
                if let Link::Backref(f) = c.link {
                    let fd = c.element.field(f);
                    assert!(
                        matches!(fd.map(|f| f.ty), Some(FieldType::Ref(e)) if e == d.entity),
                        "{}.{}",
                        d.name,
                        c.name
                    );
                }
            }
        }
    }

    #[test]
    fn import_order_puts_references_first() {
        for (i, e) in Entity::IMPORT_ORDER.iter().enumerate() {
            for f in e.def().fields {
                if let FieldType::Ref(target) = f.ty {
                    let j = Entity::IMPORT_ORDER.iter().position(|x| *x == target);
                    // organizations and persons reference each other; persons
                    // come first and their organization is checked at the end.
                    if !(*e == E::Person && target == E::Organization) {
                        assert!(j < Some(i) || target == *e, "{e} before {target}");
                    }
                }
            }
        }
    }
}
