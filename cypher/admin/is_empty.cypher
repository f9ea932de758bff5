// Purpose: whether the database holds no node at all (the bulk import path needs that).
// Params: none
// Example:
//   (no parameters)
RETURN NOT EXISTS { MATCH (n) } AS empty
