// Purpose: ratings per (activity segment, genre) with their average, for the genre-preference heatmap of
//   `engine viz`. Segments by the user's number of ratings: very-low (<= $lowMax), power (>= $powerMin), normal.
// Params:
//   $lowMax    INTEGER  users with at most this many ratings are 'very-low'
//   $powerMin  INTEGER  users with at least this many ratings are 'power'
// Example:
//   :param {lowMax: 20, powerMin: 500}
MATCH (u:User)
WITH u, COUNT { (u)-[:RATED]->() } AS n
WITH u,
     CASE
       WHEN n <= $lowMax THEN 'very-low'
       WHEN n >= $powerMin THEN 'power'
       ELSE 'normal'
     END AS segment
MATCH (u)-[r:RATED]->(:Movie)-[:IN_GENRE]->(g:Genre)
RETURN segment,
       g.name AS genre,
       count(r) AS ratings,
       avg(r.rating) AS avgRating
ORDER BY segment, genre
