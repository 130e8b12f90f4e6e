-- Benchmark data set: about 1,000,000 consent events over the 10 purposes
-- and 100,000 subjects, and the current row of every (subject, purpose) pair,
-- derived from the events the way record_consent would have kept it.
-- Expects the purposes and subjects to exist already (tests/bench/run.py
-- creates them, the subjects with their wrapped data keys).
INSERT INTO consents_consentevent
    (event_id, subject_id, purpose_id, version, action, occurred_at, recorded_at, source, api_key_id)
SELECT gen_random_uuid(),
       s.first_id + (g % 100000),
       p.ids[1 + (g / 100000) % 10],
       1,
       CASE WHEN random() < 0.8 THEN 'granted' ELSE 'withdrawn' END,
       now() - random() * interval '365 days',
       now(),
       'web',
       NULL
FROM generate_series(0, 999999) AS g,
     (SELECT min(id) AS first_id FROM consents_subject) AS s,
     (SELECT array_agg(id ORDER BY id) AS ids FROM consents_purpose) AS p;

INSERT INTO consents_currentconsent (subject_id, purpose_id, event_id, version, action, occurred_at, updated_at)
SELECT DISTINCT ON (subject_id, purpose_id)
       subject_id, purpose_id, id, version, action, occurred_at, now()
FROM consents_consentevent
ORDER BY subject_id, purpose_id, occurred_at DESC, (action = 'withdrawn') DESC, id DESC;

ANALYZE;
