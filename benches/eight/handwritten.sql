-- Hand-written SQL computing what benches/eight/policy.rules holds for,
-- with what its actions need (the people's ids and emails; the values a
-- notice reads are a run's, not a dry-run's): the yardstick for `duban
-- dry-run` in benches/scale.rs, as of 2026-11-22. One row per (rule,
-- subject); one statement per rule, in the policy's order.

-- overdue
SELECT 'overdue', p.id, r.id, r.email, s.id, s.email
FROM problems p
JOIN inspections i ON i.id = p.inspection_id
JOIN organizations o ON o.id = i.organization_id
LEFT JOIN persons r ON r.id = p.responsible_id
LEFT JOIN persons s ON s.id = o.secretary_id
WHERE p.status <> 'rectified' AND p.deadline <= date('2026-11-22', '-30 days');

-- serious
SELECT 'serious', p.id, s.id, l.id, l.email
FROM problems p
JOIN inspections i ON i.id = p.inspection_id
JOIN organizations o ON o.id = i.organization_id
LEFT JOIN persons s ON s.id = o.secretary_id
LEFT JOIN persons l ON l.id = i.leader_id
WHERE p.severity = 'serious' AND p.status <> 'rectified' AND p.deadline <= date('2026-11-22', '-15 days');

-- no_owner
SELECT 'no_owner', p.id
FROM problems p
WHERE p.responsible_id IS NULL AND p.status = 'open' AND p.found_on <= date('2026-11-22', '-14 days');

-- deadline_soon
SELECT 'deadline_soon', p.id, r.id, r.email
FROM problems p LEFT JOIN persons r ON r.id = p.responsible_id
WHERE p.status <> 'rectified' AND p.deadline BETWEEN '2026-11-22' AND date('2026-11-22', '+7 days');

-- escalate
SELECT 'escalate', p.id, r.id, d.id, d.email
FROM problems p
JOIN inspections i ON i.id = p.inspection_id
JOIN organizations o ON o.id = i.organization_id
LEFT JOIN persons r ON r.id = p.responsible_id
LEFT JOIN persons d ON d.id = o.discipline_officer_id
WHERE p.status <> 'rectified'
  AND EXISTS (SELECT 1 FROM tasks t WHERE t.subject_type = 'problem' AND t.subject_id = p.id AND t.kind = 'reminder_talk'
              AND +t.status = 'done' AND t.done_on <= date('2026-11-22', '-30 days'));

-- low_rate
SELECT 'low_rate', i.id, x.rate, s.id, s.email
FROM (SELECT i.id, i.organization_id,
             (SELECT avg(p.status = 'rectified') FROM problems p WHERE p.inspection_id = i.id) AS rate
      FROM inspections i WHERE i.feedback_on <= date('2026-11-22', '-90 days') LIMIT -1) x
JOIN inspections i ON i.id = x.id
JOIN organizations o ON o.id = x.organization_id
LEFT JOIN persons s ON s.id = o.secretary_id
WHERE x.rate < 0.7;

-- report_missing
SELECT 'report_missing', x.id, x.open, l.id, l.email
FROM (SELECT i.id, i.leader_id,
             (SELECT count(*) FROM problems p WHERE p.inspection_id = i.id AND p.status = 'open') AS open
      FROM inspections i WHERE i.report_due <= '2026-11-22' LIMIT -1) x
LEFT JOIN persons l ON l.id = x.leader_id
WHERE x.open >= 3;

-- many_open
SELECT 'many_open', x.id, x.open, s.id, s.email
FROM (SELECT o.id, o.secretary_id,
             (SELECT count(*) FROM inspections i JOIN problems p ON p.inspection_id = i.id
              WHERE i.organization_id = o.id AND p.status = 'open') AS open
      FROM organizations o LIMIT -1) x
LEFT JOIN persons s ON s.id = x.secretary_id
WHERE x.open >= 10;
