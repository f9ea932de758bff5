// Purpose: delete the RECOMMENDED edges of the given runs from a batch of users.
// Params:
//   $ids     LIST<INTEGER>  userIds
//   $runIds  LIST<STRING>   runs whose edges go
// Example:
//   :param {ids: [1, 2], runIds: ['old-run']}
UNWIND $ids AS id
MATCH (u:User {userId: id})-[r:RECOMMENDED]->()
WHERE r.runId IN $runIds
DELETE r
RETURN count(*) AS deleted
