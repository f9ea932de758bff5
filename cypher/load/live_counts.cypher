// Purpose: what live use added to a loaded release: RATED edges written by engine rate (ratedAt set) and the users
//   who wrote them. A reload's count check allows the graph to hold at most these beyond the release's files.
// Params: none
// Example:
//   (no parameters)
MATCH (u:User)-[r:RATED]->()
WHERE r.ratedAt IS NOT NULL
RETURN count(r) AS liveRatings, count(DISTINCT u) AS liveUsers
