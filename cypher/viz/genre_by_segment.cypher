// Purpose: ratings per (activity segment, genre) with their average, for the genre-preference heatmap of
//   `engine viz`. Segments by the user's number of ratings, as engine/evaluate/segments.py defines them:
//   very-low (< $lowThreshold), power (>= $powerThreshold), else normal.
// Params:
//   $lowThreshold    INTEGER  users with fewer ratings are 'very-low'
//   $powerThreshold  INTEGER  users with at least this many ratings are 'power'
// Example:
//   :param {lowThreshold: 20, powerThreshold: 200}
MATCH (u:User)
WITH u, COUNT { (u)-[:RATED]->() } AS n
WITH u,
     CASE
       WHEN n < $lowThreshold THEN 'very-low'
       WHEN n >= $powerThreshold THEN 'power'
       ELSE 'normal'
     END AS segment
MATCH (u)-[r:RATED]->(:Movie)-[:IN_GENRE]->(g:Genre)
RETURN segment,
       g.name AS genre,
       count(r) AS ratings,
       avg(r.rating) AS avgRating
ORDER BY segment, genre
