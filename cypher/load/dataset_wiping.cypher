// Purpose: first step of a wipe (`engine load --replace`): mark every :Dataset 'wiping', so the next load names an interrupted wipe.
// Params: none
// Example:
//   (no parameters)
MATCH (d:Dataset)
SET d.status = 'wiping', d.wipeStartedAt = datetime()
RETURN count(d) AS marked
