// Purpose: every userId, in order (to delete a run's edges in batches of users).
// Params: none
// Example:
//   (no parameters)
MATCH (u:User)
RETURN u.userId AS id
ORDER BY id
