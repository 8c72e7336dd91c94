-- Hand-written SQL computing what the example policy (rules/) holds for,
-- with the people its actions need: the yardstick for `duban dry-run` in
-- benches/scale.rs. `:today` is bound by the benchmark (here: 2026-11-22).
-- One result row per (rule, subject), as an expert would write each rule
-- straight against the tables. A task's status is written `+t.status`:
-- without statistics SQLite would otherwise look the tasks up by status
-- (the workbench's index) rather than by their subject.

-- deadline_approaching
SELECT 'deadline_approaching', p.id, r.id, r.name, r.email
FROM problems p LEFT JOIN persons r ON r.id = p.responsible_id
WHERE p.status <> 'rectified' AND p.deadline BETWEEN '2026-11-22' AND date('2026-11-22', '+7 days');

-- overdue_reminder
SELECT 'overdue_reminder', p.id, r.id, r.email, s.id, s.email, d.id, d.email
FROM problems p
JOIN inspections i ON i.id = p.inspection_id
JOIN organizations o ON o.id = i.organization_id
LEFT JOIN persons r ON r.id = p.responsible_id
LEFT JOIN persons s ON s.id = o.secretary_id
LEFT JOIN persons d ON d.id = o.discipline_officer_id
WHERE p.status <> 'rectified' AND p.deadline <= date('2026-11-22', '-30 days')
  AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.subject_type = 'problem' AND t.subject_id = p.id AND t.kind = 'reminder_talk');

-- escalate
SELECT 'escalate', p.id, r.id, r.email, d.id, d.email
FROM problems p
JOIN inspections i ON i.id = p.inspection_id
JOIN organizations o ON o.id = i.organization_id
LEFT JOIN persons r ON r.id = p.responsible_id
LEFT JOIN persons d ON d.id = o.discipline_officer_id
WHERE p.status <> 'rectified'
  AND EXISTS (SELECT 1 FROM tasks t WHERE t.subject_type = 'problem' AND t.subject_id = p.id AND t.kind = 'reminder_talk'
              AND +t.status = 'done' AND t.done_on <= date('2026-11-22', '-30 days'));

-- serious_overdue
SELECT 'serious_overdue', p.id, s.id, s.email, l.id, l.email
FROM problems p
JOIN inspections i ON i.id = p.inspection_id
JOIN organizations o ON o.id = i.organization_id
LEFT JOIN persons s ON s.id = o.secretary_id
LEFT JOIN persons l ON l.id = i.leader_id
WHERE p.severity = 'serious' AND p.status <> 'rectified' AND p.deadline <= date('2026-11-22', '-15 days');

-- no_responsible
SELECT 'no_responsible', p.id
FROM problems p
WHERE p.responsible_id IS NULL AND p.status = 'open' AND p.found_on <= date('2026-11-22', '-14 days');

-- still_overdue
SELECT 'still_overdue', p.id, r.id, r.email, d.id, d.email
FROM problems p
JOIN inspections i ON i.id = p.inspection_id
JOIN organizations o ON o.id = i.organization_id
LEFT JOIN persons r ON r.id = p.responsible_id
LEFT JOIN persons d ON d.id = o.discipline_officer_id
WHERE p.status = 'open' AND p.deadline <= date('2026-11-22', '-60 days');

-- low_rate
SELECT 'low_rate', i.id, s.id, s.email, d.id, d.email
FROM inspections i
JOIN organizations o ON o.id = i.organization_id
LEFT JOIN persons s ON s.id = o.secretary_id
LEFT JOIN persons d ON d.id = o.discipline_officer_id
WHERE i.feedback_on <= date('2026-11-22', '-90 days')
  AND (SELECT avg(p.status = 'rectified') FROM problems p WHERE p.inspection_id = i.id) < 0.7;

-- accountability_step (its actions wait for the leader's approval; the
-- firings are the same)
SELECT 'accountability_step', i.id, s.id, s.email, l.id, l.email
FROM inspections i
JOIN organizations o ON o.id = i.organization_id
LEFT JOIN persons s ON s.id = o.secretary_id
LEFT JOIN persons l ON l.id = i.leader_id
WHERE (SELECT avg(p.status = 'rectified') FROM problems p WHERE p.inspection_id = i.id) < 0.7
  AND EXISTS (SELECT 1 FROM tasks t WHERE t.subject_type = 'inspection' AND t.subject_id = i.id
              AND t.kind = 'written_self_criticism' AND +t.status = 'done'
              AND t.done_on <= date('2026-11-22', '-60 days'));

-- report_due_soon
SELECT 'report_due_soon', i.id, s.id, s.email, l.id, l.email
FROM inspections i
JOIN organizations o ON o.id = i.organization_id
LEFT JOIN persons s ON s.id = o.secretary_id
LEFT JOIN persons l ON l.id = i.leader_id
WHERE i.report_due BETWEEN '2026-11-22' AND date('2026-11-22', '+7 days')
  AND (SELECT avg(p.status = 'rectified') FROM problems p WHERE p.inspection_id = i.id) < 1.0;

-- follow_up
SELECT 'follow_up', i.id, s.id, s.email, l.id, l.email
FROM inspections i
JOIN organizations o ON o.id = i.organization_id
LEFT JOIN persons s ON s.id = o.secretary_id
LEFT JOIN persons l ON l.id = i.leader_id
WHERE i.feedback_on <= date('2026-11-22', '-180 days')
  AND (SELECT avg(p.status = 'rectified') FROM problems p WHERE p.inspection_id = i.id) = 1.0;

-- many_overdue
SELECT 'many_overdue', o.id, s.id, s.email, d.id, d.email
FROM organizations o
LEFT JOIN persons s ON s.id = o.secretary_id
LEFT JOIN persons d ON d.id = o.discipline_officer_id
WHERE (SELECT count(*) FROM inspections i JOIN problems p ON p.inspection_id = i.id
       WHERE i.organization_id = o.id AND p.status <> 'rectified' AND p.deadline < '2026-11-22') >= 5;

-- repeated_admonishment: counted from the year's admonishment talks, the
-- few rows that matter, rather than by walking every problem
SELECT 'repeated_admonishment', o.id, s.id, s.email
FROM (SELECT i.organization_id AS org, count(*) AS n
      FROM problems p JOIN inspections i ON i.id = p.inspection_id
      WHERE p.id IN (SELECT t.subject_id FROM tasks t
                     WHERE t.subject_type = 'problem' AND t.kind = 'admonishment_talk'
                       AND t.created_on >= date('2026-11-22', '-365 days'))
      GROUP BY i.organization_id) a
JOIN organizations o ON o.id = a.org
LEFT JOIN persons s ON s.id = o.secretary_id
WHERE a.n >= 3;

-- 长期未整改问责 (its actions wait for the inspection leader's approval:
-- the leader is read, as for accountability_step)
SELECT '长期未整改问责', p.id, r.id, r.email, d.id, d.email, l.id, l.email
FROM problems p
JOIN inspections i ON i.id = p.inspection_id
JOIN organizations o ON o.id = i.organization_id
LEFT JOIN persons r ON r.id = p.responsible_id
LEFT JOIN persons d ON d.id = o.discipline_officer_id
LEFT JOIN persons l ON l.id = i.leader_id
WHERE p.status <> 'rectified' AND p.deadline <= date('2026-11-22', '-90 days')
  AND EXISTS (SELECT 1 FROM tasks t WHERE t.subject_type = 'problem' AND t.subject_id = p.id
              AND t.kind = 'admonishment_talk' AND +t.status = 'done');

-- 整改率过低约谈
SELECT '整改率过低约谈', i.id, s.id, s.email, l.id, l.email
FROM inspections i
JOIN organizations o ON o.id = i.organization_id
LEFT JOIN persons s ON s.id = o.secretary_id
LEFT JOIN persons l ON l.id = i.leader_id
WHERE i.feedback_on <= date('2026-11-22', '-180 days')
  AND (SELECT avg(p.status = 'rectified') FROM problems p WHERE p.inspection_id = i.id) < 0.5;
