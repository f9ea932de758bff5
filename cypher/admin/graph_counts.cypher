// Purpose: how many nodes and relationships of each kind the graph holds (load summary).
// Params: none
// Example:
//   (no parameters)
CALL () {
  MATCH (u:User) RETURN 'User' AS kind, count(u) AS n
  UNION ALL
  MATCH (m:Movie) RETURN 'Movie' AS kind, count(m) AS n
  UNION ALL
  MATCH (g:Genre) RETURN 'Genre' AS kind, count(g) AS n
  UNION ALL
  MATCH ()-[r:RATED]->() RETURN 'RATED' AS kind, count(r) AS n
  UNION ALL
  MATCH ()-[r:IN_GENRE]->() RETURN 'IN_GENRE' AS kind, count(r) AS n
  UNION ALL
  MATCH ()-[r:TAGGED]->() RETURN 'TAGGED' AS kind, count(r) AS n
}
RETURN kind, n
