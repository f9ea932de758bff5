// Purpose: delete up to $limit nodes with their relationships (run repeatedly to empty the graph).
// Params:
//   $limit  INTEGER  nodes per transaction
// Example:
//   :param limit => 10000
MATCH (n)
WITH n
LIMIT $limit
DETACH DELETE n
RETURN count(*) AS deleted
