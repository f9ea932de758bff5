// Purpose: the $k movies the current run recommends most within each user segment by rating count:
//   'very-low' (< $lowThreshold ratings), 'normal', 'power' (>= $powerThreshold), as engine/evaluate/segments.py defines them.
// Params:
//   $lowThreshold    INTEGER  users with fewer ratings are 'very-low'
//   $powerThreshold  INTEGER  users with at least this many ratings are 'power'
//   $k               INTEGER  movies per segment
// Example:
//   :param {lowThreshold: 20, powerThreshold: 200, k: 5}
// The current run: an index seek on :ModelRun(current) (one run at most after a switch).
OPTIONAL MATCH (run:ModelRun {current: true})
WITH run
ORDER BY run.switchedAt DESC
LIMIT 1
MATCH (u:User)
WITH run, u, COUNT { (u)-[:RATED]->() } AS ratings
WITH run, u, CASE WHEN ratings < $lowThreshold THEN 'very-low' WHEN ratings >= $powerThreshold THEN 'power' ELSE 'normal' END AS segment
WITH run, segment, collect(u) AS users
UNWIND users AS u
// each user's list: the write-back's (version 0) or engine refresh's live one, bound once per user
WITH run, segment, users, u, CASE WHEN properties(u).liveRun = run.runId THEN properties(u).liveVersion ELSE 0 END AS listVersion
MATCH (u)-[r:RECOMMENDED]->(m:Movie)
WHERE r.runId = run.runId AND coalesce(properties(r).version, 0) = listVersion
WITH run, segment, size(users) AS segmentUsers, m, count(r) AS recommendedTo, avg(r.score) AS avgScore, avg(r.rank) AS avgRank
ORDER BY segment, recommendedTo DESC, avgScore DESC, m.movieId
WITH run, segment, segmentUsers, collect({m: m, recommendedTo: recommendedTo, avgScore: avgScore, avgRank: avgRank})[..toInteger($k)] AS top
UNWIND range(0, size(top) - 1) AS i
WITH run, segment, segmentUsers, top[i] AS row, i + 1 AS rank
RETURN segment,
       segmentUsers,
       rank,
       row.m.movieId AS movieId,
       row.m.title AS title,
       row.m.year AS year,
       row.recommendedTo AS recommendedTo,
       round(toFloat(row.recommendedTo) / segmentUsers, 3) AS shareOfSegment,
       round(row.avgScore, 4) AS avgScore,
       round(row.avgRank, 1) AS avgRank,
       run.runId AS runId
ORDER BY CASE segment WHEN 'very-low' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END, rank
