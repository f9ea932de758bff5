// Purpose: userIds of users holding a vector in an embedding slot (to clear stale ones before reuse).
// Params:
//   $property  STRING  slot property, 'embedding' or 'embeddingB'
// Example:
//   :param property => 'embedding'
MATCH (u:User)
WHERE u[$property] IS NOT NULL
RETURN u.userId AS id
